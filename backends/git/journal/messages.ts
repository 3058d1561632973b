/**
 * Commit messages a person understands (issue 14): a subject from what a burst did, a body listing the
 * changed paths (capped), then trailers. Pure. STUB on main: replaced by the messages work.
 */
import type { JournalRecord } from './record.js';

/** One path's net change over a burst (the tree before the burst against the tree after). */
export interface NetChange {
  /** Live path, `/a/b.txt`. */
  path: string;
  change: 'add' | 'update' | 'delete';
  kind: 'file' | 'dir';
  /** For a folder added or deleted whole: the files in it (placeholders and `.davprops` not counted). */
  files?: number;
  /** An update (or add) whose new content is a version this path had before: that version's commit. */
  restoredFrom?: string;
  /** Only the path's dead properties (`.davprops`) changed. */
  propsOnly?: boolean;
}

export interface BurstDescription {
  records: readonly JournalRecord[];
  changes: readonly NetChange[];
  /** Trailer lines to end the message with (`Gitdav-Journal: 41`, …), already formatted. */
  trailers: readonly string[];
}

/** The whole commit message: subject, blank line, body, blank line, trailers; ends with a newline. */
export function commitMessage(d: BurstDescription): string {
  const first = d.records[0];
  const subject = first ? `${first.meta.op} ${first.meta.path}` : 'Change';
  const users = [...new Set(d.records.map((r) => r.user).filter((u): u is string => !!u))];
  const agents = [...new Set(d.records.map((r) => r.userAgent).filter((a): a is string => !!a))];
  const trailers = [...users.map((u) => `Remote-User: ${u}`), ...agents.map((a) => `User-Agent: ${a}`), ...d.trailers];
  return `${subject}\n\n${trailers.join('\n')}\n`;
}
