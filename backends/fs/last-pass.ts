/**
 * The stats of a folder's version pass, kept only until the current turn of the event loop ends, so
 * that a caller who asks for the version and then, at once, for the members at that version (a
 * PROPFIND cache miss: lib/dav/listing-cache.ts; a changed calendar: CalendarMembers.byVersion) is
 * given the members of that very pass rather than a second pass of every member's stat.
 *
 * Safe: what is handed out is what the pass read, with the version it hashed (listing.ts), exactly
 * what listVersioned promises; the caller then treats it as any listing at that version. Nothing is
 * kept past the turn (cleared by setImmediate), so no later request is answered from it; and a
 * version by itself is never served from here: every listingVersion call makes its own pass.
 * Bounded by bytes too (a turn may end many passes when many requests are in flight).
 */
import type { BigIntStats } from 'node:fs';
import { Lru } from '../util/lru.js';

export interface Pass {
  version: string;
  /** The folder's own fstat (the pass's): a folder opened again later must be this one. */
  self: BigIntStats;
  names: string[];
  /** Each name's lstat, null for one gone since it was listed. */
  stats: (BigIntStats | null)[];
}

/** What one member of a kept pass is counted at (its name, its stat object). */
const MEMBER_BYTES = 400;
/** Bytes of passes kept at once. */
export const PASS_BYTES = 8 * 1024 * 1024;

const passes = new Lru<Pass>(PASS_BYTES, (p) => 1000 + p.names.length * MEMBER_BYTES);
let clearing = false;

/** Keeps `pass` of the folder named by `key` until this turn of the event loop ends. */
export function keepPass(key: string, pass: Pass): void {
  passes.set(key, pass);
  if (clearing) return;
  clearing = true;
  setImmediate(() => {
    clearing = false;
    passes.clear();
  });
}

/** The pass kept for `key` in this turn, if any (taken: handed out once). */
export function takePass(key: string): Pass | undefined {
  const p = passes.peek(key);
  if (p) passes.delete(key);
  return p;
}
