/**
 * Where a resource is stored: the tree that holds it (named by its state dir) and its path there. A
 * user's view with other users' shares mounted into it answers through `locate`; any other backend
 * is a single tree. CalDAV asks only here, so every lookup of a tree's state agrees whoever asks (the
 * owner, an anonymous reader, a grantee writing into a shared calendar), and the optional `locate`
 * is reached in one place (through the ShareAware capability).
 */
import type { Backend } from '../../../backends/backend.js';
import { locate } from '../../../backends/capabilities.js';

export interface Home {
  /** The state dir of the tree that stores the resource. */
  stateDir: string;
  /** The resource's path in that tree. */
  path: string;
}

export function homeOf(backend: Backend, path: string): Home {
  return locate(backend, path);
}
