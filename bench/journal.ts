/**
 * What one journal append costs (issue 14), on its own: not part of `npm run bench`.
 * `node dist/bench/journal.js [N] [DIR]` prints transact latency (one small record: journal lock,
 * catch-up stat, one write, one fdatasync, release), p50/p95/p99 in ms:
 *   - sequential, in one process;
 *   - two processes appending at once (this script spawns itself as the second), each its own figures.
 * DIR (default: a temp dir) picks the file system: the fdatasync is most of the cost.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Journal } from '../backends/git/journal/journal.js';
import type { JournalEntry } from '../backends/git/journal/record.js';

const N = Number(process.argv[2] ?? 1000);

const entry = (i: number, who: string): JournalEntry => {
  const path = `/bench/${who}/${i}.txt`;
  return { time: Date.now(), user: who, meta: { op: 'PUT', path }, effects: [{ path, slot: { kind: 'file', mode: '100644', oid: 'e'.repeat(40) } }] };
};

/** Per-append latencies (ms) of `n` sequential transacts. */
async function appendTimes(j: Journal, n: number, who: string): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await j.transact(async () => ({ entries: [entry(i, who)], result: undefined }));
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return ms;
}

function summary(label: string, ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(2);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `${label.padEnd(44)} p50 ${q(0.5).padStart(7)}  p95 ${q(0.95).padStart(7)}  p99 ${q(0.99).padStart(7)} ms  (${(1000 / mean).toFixed(0)}/s, n=${s.length})`;
}

if (process.argv[4] === 'child') {
  // The second process: wait for GO on stdin, append, print the summary line.
  const j = await Journal.open(process.argv[3]!);
  process.stdout.write('READY\n');
  await new Promise((r) => process.stdin.once('data', r));
  process.stdout.write(`${summary('two processes at once: the other', await appendTimes(j, N, 'child'))}\n`);
  await j.close();
  process.exit(0);
}

const base = process.argv[3] ?? tmpdir();
const dir = mkdtempSync(join(base, 'gitdav-journal-bench-'));
try {
  console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}; dir ${dir}`);
  const j = await Journal.open(join(dir, 'a'));
  await appendTimes(j, 50, 'warm');
  console.log(summary('sequential, one process', await appendTimes(j, N, 'seq')));

  const state = join(dir, 'b');
  const other = await Journal.open(state);
  await other.read();
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), String(N), state, 'child'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.on('exit', r));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  while (!out.includes('READY')) await new Promise((r) => setTimeout(r, 10));
  child.stdin.write('GO\n');
  const mine = await appendTimes(other, N, 'parent');
  await exited;
  console.log(summary('two processes at once: this one', mine));
  console.log(out.split('\n').filter((l) => l.startsWith('two')).join('\n'));
  const all = await Journal.open(state);
  console.log(`records in the shared journal: ${(await all.read()).records.length} (expected ${2 * N})`);
  await Promise.all([j.close(), other.close(), all.close()]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
