/** Public API: build an app around a backend, or start the configured server. */
export { createApp, listen, startServer, type App, type RunningServer } from './server.js';
export { createDav, type Dav, type DavOptions } from './dav/index.js';
export { FsBackend } from '../backends/fs/index.js';
export { GitBackend } from '../backends/git/index.js';
export { openGitRepository, GitRepository } from '../backends/git/repository.js';
export type * from '../backends/backend.js';
