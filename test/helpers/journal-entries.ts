import type { JournalEntry } from '../../backends/git/journal/record.js';

/** A PUT's journal entry for `path` (a fixed time and blob), as the journal-file tests append them. */
export const entry = (path: string, user = 'alice'): JournalEntry => ({
  time: 1_700_000_000_000,
  user,
  meta: { op: 'PUT', path },
  effects: [{ path, slot: { kind: 'file', mode: '100644', oid: 'b'.repeat(40) } }],
});

/** The request paths of records, in order. */
export const paths = (records: { meta: { path: string } }[]): string[] => records.map((r) => r.meta.path);
