/**
 * The uncommitted records of one lineage of live views (views built on one tip by appending records,
 * ./live-state.ts), kept as ./live-times.ts keeps their times: one append-only array shared by the
 * lineage's views, each seeing it through its own length. A new view costs the records it adds, where
 * a copy per view made a burst of n appends cost O(n²) (15,000 records in a 30 s burst at 500 PUT/s).
 *
 * A view's `records` stays a `readonly JournalRecord[]`: the committer and the burst rules
 * (./committer.ts, ./journal/burst.ts) read it as an array, and a run of records is one, to them and to
 * `Array.isArray`: a read-only proxy of an empty array that answers `length` and the indexes below its
 * length from the shared log (Array.prototype's methods are generic: slice, find, iteration, spread
 * work through it). It cannot be written to (every write trap refuses). Why not a class of our own: the
 * array shape is what the burst rules and the committer take; changing it would touch shared files for
 * no gain to them.
 *
 * A published view never sees a record appended after it: runs only ever extend the log at its end,
 * and extending a run that is not the log's end (an older view's, which no caller does today) forks: its
 * records are copied into a new log (counted in `recordLogWork.copied`).
 */
import type { JournalRecord } from './journal/record.js';

/** Elements pushed onto logs and copied by forks since start: tests bound the work by these. */
export const recordLogWork = { pushed: 0, copied: 0 };

interface Cut {
  log: JournalRecord[];
  length: number;
}

/** Each run (a proxy) → the log it reads and how much of it. */
const cuts = new WeakMap<object, Cut>();

/** An empty run on a log of its own: a new lineage. */
export function noRecords(): readonly JournalRecord[] {
  return cut([], 0);
}

/** `run` followed by `added`: the log extended in place when `run` is its end, else a fork (a copy of `run`). */
export function appendRecords(run: readonly JournalRecord[], added: readonly JournalRecord[]): readonly JournalRecord[] {
  if (added.length === 0) return run;
  let at = cuts.get(run);
  if (!at || at.length !== at.log.length) {
    const log = at ? at.log.slice(0, at.length) : Array.from(run);
    recordLogWork.copied += log.length;
    at = { log, length: log.length };
  }
  for (const r of added) at.log.push(r); // not push(...added): a long argument list overflows the stack
  recordLogWork.pushed += added.length;
  return cut(at.log, at.length + added.length);
}

/** A read-only array of `log`'s first `length` records. */
function cut(log: JournalRecord[], length: number): readonly JournalRecord[] {
  const refuse = () => false;
  const run = new Proxy<JournalRecord[]>([], {
    get(target, key, receiver) {
      if (key === 'length') return length;
      const i = indexOf(key);
      if (i >= 0) return i < length ? log[i] : undefined;
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      const i = indexOf(key);
      return i >= 0 ? i < length : Reflect.has(target, key);
    },
    ownKeys() {
      const keys: string[] = [];
      for (let i = 0; i < length; i++) keys.push(String(i));
      keys.push('length');
      return keys;
    },
    getOwnPropertyDescriptor(target, key) {
      // length: the target's own (non-configurable, writable) with this run's value; an index: read-only.
      if (key === 'length') return { value: length, writable: true, enumerable: false, configurable: false };
      const i = indexOf(key);
      if (i >= 0) return i < length ? { value: log[i], writable: false, enumerable: true, configurable: true } : undefined;
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    set: refuse,
    defineProperty: refuse,
    deleteProperty: refuse,
    setPrototypeOf: refuse,
    preventExtensions: refuse,
  });
  cuts.set(run, { log, length });
  return run;
}

/** The array index a property key names (-1: not one). */
function indexOf(key: string | symbol): number {
  if (typeof key !== 'string' || key.length === 0 || key.length > 10) return -1;
  const c = key.charCodeAt(0);
  if (c < 48 || c > 57) return -1;
  const i = Number(key);
  return i < 2 ** 32 - 1 && String(i) === key ? i : -1;
}
