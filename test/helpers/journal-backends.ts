/**
 * Git backends on their write journal, opened in process by the journal tests: a temp repository per
 * test, burst windows no test waits for (nothing is committed until close or commitJournal), and a
 * step-bounded wait for what happens later (a burst's commit).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GitBackend } from '../../backends/git/index.js';
import type { GitBackendOptions } from '../../backends/git/options.js';

/** A burst window (and age) no test waits for. */
export const LONG = 600_000;

export const body = (text: string): Readable => Readable.from([Buffer.from(text)]);

/** Opens backends on temp repositories (or on `root`, a second process's view); `removeAll` in `after`. */
export function journalRepos(prefix: string): {
  open(options?: Partial<GitBackendOptions>, root?: string): Promise<{ root: string; b: GitBackend }>;
  removeAll(): Promise<void>;
} {
  const dirs: string[] = [];
  return {
    async open(options = {}, root) {
      root ??= await mkdtemp(join(tmpdir(), prefix));
      dirs.push(root);
      return { root, b: await GitBackend.open({ root, burstWindowMs: LONG, burstMaxAgeMs: LONG, ...options }) };
    },
    async removeAll() {
      for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    },
  };
}

/** Checks every `stepMs`, at most `steps` times: a bound by steps, never a wall-clock assertion. */
export async function until(what: string, check: () => Promise<boolean>, steps = 200, stepMs = 50): Promise<void> {
  for (let i = 0; i < steps; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  assert.fail(`${what}: not after ${steps} steps`);
}
