/** The pages `?view=NAME` names (./route.ts): each sends its own answer. */
import type { Entry } from '../../backends/backend.js';
import type { DavRequest } from '../dav/context.js';
import { commitView } from './history/commit-page.js';
import { diffView } from './history/diff-page.js';
import { historyView } from './history/log-page.js';
import { exportView } from './calendars/export.js';
import { blameView } from './history/blame-page.js';

export type View = (req: DavRequest, entry: Entry, headOnly: boolean) => Promise<void>;

export const VIEWS: Record<string, View> = {
  history: historyView,
  commit: commitView,
  diff: diffView,
  export: exportView,
  blame: blameView,
};
