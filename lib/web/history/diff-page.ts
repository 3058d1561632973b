/** Placeholder of the contract (docs/web.md): the history helper replaces this file. */
import type { Entry } from '../../../backends/backend.js';
import type { DavRequest } from '../../dav/context.js';
import { notFound } from '../../dav/errors/dav-error.js';

export async function diffView(req: DavRequest, entry: Entry, headOnly: boolean): Promise<void> {
  void entry;
  void headOnly;
  throw notFound(`this view is not built yet (${req.path})`);
}
