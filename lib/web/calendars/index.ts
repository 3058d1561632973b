/** Placeholder of the contract (docs/web.md): the calendars helper replaces this file. */
import type { Entry } from '../../../backends/backend.js';
import type { DavRequest } from '../../dav/context.js';

/**
 * The main content of a page for a CalDAV/CardDAV collection (a calendar home, a calendar, an address
 * book home or book), or null: the folder page then shows the ordinary listing.
 */
export async function collectionPage(req: DavRequest, dir: Entry): Promise<{ title: string; main: string } | null> {
  void req;
  void dir;
  return null;
}
