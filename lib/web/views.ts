/**
 * The pages `?view=NAME` names (./route.ts): each sends its own answer. Loaded on first use: a
 * server nobody browses (or one started --no-caldav, which loads no CalDAV code) never loads the
 * diff library, the history readers or CalDAV's expansion code for them.
 */
import type { Entry } from '../../backends/backend.js';
import type { DavRequest } from '../dav/context.js';

/** `headOnly`: for views that stream their answer (an export); a page sent by sendPage needs it not (Koa answers a HEAD). */
export type View = (req: DavRequest, entry: Entry, headOnly: boolean) => Promise<void>;

/** A view whose module is imported when it is first asked for. */
function lazy<K extends string>(load: () => Promise<Record<K, View>>, name: K): View {
  return async (req, entry, headOnly) => (await load())[name](req, entry, headOnly);
}

export const VIEWS: Record<string, View> = {
  history: lazy(() => import('./history/log-page.js'), 'historyView'),
  commit: lazy(() => import('./history/commit-page.js'), 'commitView'),
  diff: lazy(() => import('./history/diff-page.js'), 'diffView'),
  export: lazy(() => import('./calendars/export.js'), 'exportView'),
  blame: lazy(() => import('./history/blame-page.js'), 'blameView'),
};
