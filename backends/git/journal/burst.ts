/**
 * Which journal records make one commit (issue 14: "one commit per burst"). Pure: records and a clock
 * in, bursts out. STUB on main: every record its own burst, all closed. Replaced by the bursts work.
 */
import type { JournalRecord } from './record.js';

export interface BurstRules {
  /** A burst closes after this long with no record from its user (default 2,000 ms; 0: at once). */
  windowMs: number;
  /** A burst closes once its first record is this old, however busy (default 30,000 ms). */
  maxAgeMs: number;
}

export const DEFAULT_BURST_RULES: BurstRules = { windowMs: 2_000, maxAgeMs: 30_000 };

export interface BurstSplit {
  /** Closed bursts, in journal order; together a prefix of `records`. Each has one user. */
  closed: JournalRecord[][];
  /** The records after the last closed burst (still open). */
  open: JournalRecord[];
  /** Epoch ms when the first open burst closes if nothing else arrives (null: nothing open). */
  nextCloseAt: number | null;
}

/**
 * Splits uncommitted records (in seq order) into closed bursts and the open rest. `final` closes every
 * burst (shutdown, recovery of a journal a crash left).
 */
export function splitBursts(records: readonly JournalRecord[], now: number, rules: BurstRules, final = false): BurstSplit {
  void now;
  void rules;
  void final;
  return { closed: records.map((r) => [r]), open: [], nextCloseAt: null };
}
