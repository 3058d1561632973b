/**
 * Micro-bench (not a test, not part of `npm run bench`): what listing and stat'ing N files costs on
 * this machine through each way Node offers, to know the floor the folder backend's listing works
 * against. `node dist/bench/stat-floor.js [N ...]` (default 1000 10000 100000); run it again with
 * UV_THREADPOOL_SIZE=16 to see what a bigger thread pool does to the async variants.
 * Prints the median of a few rounds per variant, in ms and µs per member.
 */
import { lstatSync, mkdirSync, openSync, closeSync, promises as fsp, readdirSync, writeFileSync, existsSync, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const O_PATH = 0o10000000;

function folderOf(n: number): string {
  const dir = join(tmpdir(), `gitdav-stat-floor-${n}`);
  if (!existsSync(join(dir, '.done'))) {
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < n; i++) writeFileSync(join(dir, `file-${String(i).padStart(6, '0')}.txt`), 'x'.repeat(60));
    writeFileSync(join(dir, '.done'), '');
  }
  return dir;
}

type Variant = [name: string, run: (dir: string, names: string[]) => Promise<number> | number];

const variants: Variant[] = [
  ['readdirSync names only', (dir) => readdirSync(dir).length],
  ['readdir(withFileTypes) async', async (dir) => (await fsp.readdir(dir, { withFileTypes: true })).length],
  ['opendir stream (bufferSize 256), names only', async (dir) => {
    let n = 0;
    for await (const _ of await fsp.opendir(dir, { bufferSize: 256 })) n++;
    return n;
  }],
  ['fsp.lstat, one promise each, all at once', async (dir, names) => (await Promise.all(names.map((n) => fsp.lstat(join(dir, n))))).length],
  ['fsp.lstat bigint, chunks of 64', async (dir, names) => {
    let k = 0;
    for (let i = 0; i < names.length; i += 64) k += (await Promise.all(names.slice(i, i + 64).map((n) => fsp.lstat(join(dir, n), { bigint: true })))).length;
    return k;
  }],
  ['lstatSync loop (number)', (dir, names) => {
    let k = 0;
    for (const n of names) k += lstatSync(join(dir, n)).size > -1 ? 1 : 0;
    return k;
  }],
  ['lstatSync loop (bigint)', (dir, names) => {
    let k = 0;
    for (const n of names) k += lstatSync(join(dir, n), { bigint: true }).size > -1n ? 1 : 0;
    return k;
  }],
  ['lstatSync bigint via /proc/self/fd/N/name', (dir, names) => {
    const fd = openSync(dir, O_PATH | fsc.O_DIRECTORY);
    const via = `/proc/self/fd/${fd}`;
    let k = 0;
    try {
      for (const n of names) k += lstatSync(join(via, n), { bigint: true, throwIfNoEntry: false }) ? 1 : 0;
    } finally {
      closeSync(fd);
    }
    return k;
  }],
  ['lstatSync number via /proc/self/fd/N/name', (dir, names) => {
    const fd = openSync(dir, O_PATH | fsc.O_DIRECTORY);
    const via = `/proc/self/fd/${fd}`;
    let k = 0;
    try {
      for (const n of names) k += lstatSync(via + '/' + n, { throwIfNoEntry: false }) ? 1 : 0;
    } finally {
      closeSync(fd);
    }
    return k;
  }],
  ['opendir + lstatSync bigint via /proc (the listing before)', async (dir) => {
    const fd = openSync(dir, O_PATH | fsc.O_DIRECTORY);
    const via = `/proc/self/fd/${fd}`;
    let k = 0;
    try {
      for await (const d of await fsp.opendir(via, { bufferSize: 256 })) k += lstatSync(join(via, d.name), { bigint: true, throwIfNoEntry: false }) ? 1 : 0;
    } finally {
      closeSync(fd);
    }
    return k;
  }],
  ['readdir(withFileTypes) + lstatSync number via /proc', async (dir) => {
    const fd = openSync(dir, O_PATH | fsc.O_DIRECTORY);
    const via = `/proc/self/fd/${fd}`;
    let k = 0;
    try {
      for (const d of await fsp.readdir(via, { withFileTypes: true })) k += lstatSync(via + '/' + d.name, { throwIfNoEntry: false }) ? 1 : 0;
    } finally {
      closeSync(fd);
    }
    return k;
  }],
];

async function median(run: () => Promise<number> | number, rounds: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  console.log(`UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
  for (const n of sizes.length ? sizes : [1000, 10000, 100000]) {
    const dir = folderOf(n);
    const names = readdirSync(dir).filter((x) => x !== '.done');
    const rounds = n >= 100000 ? 3 : n >= 10000 ? 7 : 21;
    console.log(`\n${n} files (${rounds} rounds, median)`);
    for (const [name, run] of variants) {
      await run(dir, names); // warm the dentry/inode caches
      const ms = await median(() => run(dir, names), rounds);
      console.log(`  ${name.padEnd(58)} ${ms.toFixed(2).padStart(9)} ms  ${((ms * 1000) / n).toFixed(2).padStart(7)} µs/member`);
    }
  }
}

void main();
