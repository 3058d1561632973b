/** Placeholder of the contract (docs/web.md): the actions helper replaces this file. */
import type { Entry } from '../../backends/backend.js';
import type { DavRequest } from '../dav/context.js';
import { notFound } from '../dav/errors/dav-error.js';

export async function serveZip(req: DavRequest, entry: Entry, headOnly: boolean): Promise<void> {
  void entry;
  void headOnly;
  throw notFound(`zip is not built yet (${req.path})`);
}
