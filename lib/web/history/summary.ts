/** Placeholder of the contract (docs/web.md): the history helper replaces this file. */
import type { Entry } from '../../../backends/backend.js';
import type { DavRequest } from '../../dav/context.js';

/** The folder page's line about the folder's last commit (HTML), '' where there is no history. */
export async function folderSummary(req: DavRequest, dir: Entry): Promise<string> {
  void req;
  void dir;
  return '';
}
