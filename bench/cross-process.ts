/**
 * What the cross-process protocol costs one process (issue 12, item 2), on its own: not part of
 * `npm run bench`. `node dist/bench/cross-process.js [N]` prints, per operation:
 *   - the folder backend's write lock alone (symlink create, readlink, rm), and a small PUT through
 *     FsBackend (1 KiB: stream to a temp file, guard, rename), both in the same run;
 *   - a lock table read (`covering`) when nothing changed (one fstat of the journal), and when another
 *     manager on the same state dir changed one lock before each read (a journal line, one lock file);
 *   - LOCK + UNLOCK through the table lock (each with its fsyncs);
 *   - a volatile-property read (one stat) and patch (lock file, fsynced rewrite).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FsBackend, WRITE_LOCK } from '../backends/fs/index.js';
import { VolatileProps } from '../backends/git/volatile-props.js';
import { LockFile } from '../backends/util/lock-file.js';
import { LockManager } from '../lib/dav/locks/lock-manager.js';

const N = Number(process.argv[2] ?? 2000);

async function time(label: string, n: number, step: (i: number) => Promise<unknown> | unknown): Promise<void> {
  for (let i = 0; i < Math.min(50, n); i++) await step(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await step(i);
  const us = Number(process.hrtime.bigint() - start) / 1000 / n;
  console.log(`${label.padEnd(58)} ${us.toFixed(1).padStart(9)} µs/op  (n=${n})`);
}

const dir = mkdtempSync(join(tmpdir(), 'gitdav-xproc-bench-'));
try {
  const root = join(dir, 'root');
  const backend = await FsBackend.open({ root });
  const lock = new LockFile(join(root, '.gitdav', `${WRITE_LOCK}.bench`));
  const body = Buffer.alloc(1024, 'x');
  await time('write lock alone (create + release, uncontended)', N, () => lock.run(async () => undefined));
  await time('PUT 1 KiB through FsBackend (write lock included)', N, (i) => backend.write(`/f${i % 100}`, Readable.from([body])));
  await backend.close();

  const state = join(dir, 'state');
  const m = await LockManager.open(state);
  const other = await LockManager.open(state);
  await m.create({ root: '/seed', depth: 0, scope: 'exclusive', timeout: 600 });
  for (let i = 0; i < 100; i++) await m.create({ root: `/l${i}`, depth: 0, scope: 'exclusive', timeout: 600 });
  await time('lock table read, nothing changed (fstat of the journal)', N * 10, async () => other.covering('/l5/x'));
  const seed = m.covering('/seed')[0]!.token;
  await time('lock table read after a refresh elsewhere (refresh + read)', N / 4, async () => {
    await m.refresh(seed, 600);
    other.covering('/seed');
  });
  await time('LOCK + UNLOCK (table lock, fsynced file, journal line)', N / 4, async (i) => {
    const l = await m.create({ root: `/x${i}`, depth: 0, scope: 'exclusive', timeout: 600 });
    await m.remove(l.token);
  });
  m.close();
  other.close();

  const vfile = join(dir, 'volatile-props.json');
  const v = new VolatileProps(vfile);
  await v.patch('/a', [{ op: 'set', name: '{urn:schemas-microsoft-com:}Win32LastAccessTime', value: 'x' }]);
  await time('volatile property read, unchanged (one stat)', N * 10, () => v.get('/a'));
  await time('volatile property patch (lock file, fsynced rewrite)', N / 4, (i) =>
    v.patch('/a', [{ op: 'set', name: '{urn:schemas-microsoft-com:}Win32LastAccessTime', value: String(i) }]),
  );
  v.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
