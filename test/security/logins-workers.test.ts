/**
 * The login back-off shared by a supervisor's workers (lib/auth/shared-login-guard.ts): the test is
 * the supervisor (it holds the LoginGuardHost and the IPC channels) and forks real workers. Guesses
 * spread over two workers are throttled exactly as in one process; a worker that dies in the middle
 * of a check leaves its attempts counted as failed; a worker without its supervisor refuses logins.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import type { Worker } from 'node:cluster';
import { once } from 'node:events';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { holdFolder, type FolderHold } from '../../backends/fs/folder-lock.js';
import { createLogger } from '../../backends/util/log.js';
import { DEFAULTS } from '../../lib/config.js';
import { LoginGuardHost } from '../../lib/auth/shared-login-guard.js';
import { writeUsers } from '../../lib/auth/users-file.js';
import { dist } from '../helpers/child-script.js';
import { raw } from '../helpers/server.js';
import { forkWorker, type ForkedWorker } from '../helpers/worker-fixture.js';

const basic = (user: string, pw: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });

/** A process with only a LoginGuardClient: `{cmd: 'begin', user, address}` → `{result}`; `{cmd: 'finish', ticket, outcome}`. */
async function clientProcess(dir: string): Promise<ChildProcess & { ask(m: object): Promise<unknown> }> {
  const file = join(dir, 'client.mjs');
  await fsp.writeFile(file, `
const { LoginGuardClient } = await import(${dist('lib/auth/shared-login-guard.js')});
const client = new LoginGuardClient(2000);
const second = new LoginGuardClient(2000); // another tenant's authenticator in the same worker
process.on('message', async (m) => {
  if (m?.gitdav !== 'test') return;
  if (m.cmd === 'begin') process.send({ gitdav: 'test-result', result: await client.begin(m.user, m.address) });
  if (m.cmd === 'begin2') process.send({ gitdav: 'test-result', result: await second.begin(m.user, m.address) });
  if (m.cmd === 'finish') { client.finish(m.ticket, m.outcome); process.send({ gitdav: 'test-result', result: 'finished' }); }
});
process.send({ gitdav: 'test-result', result: 'ready' });
`);
  const child = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const results: unknown[] = [];
  const waiters: Array<() => void> = [];
  child.on('message', (m: { gitdav?: string; result?: unknown }) => {
    if (m?.gitdav !== 'test-result') return;
    results.push(m.result);
    waiters.splice(0).forEach((w) => w());
  });
  const take = async () => {
    while (results.length === 0) await new Promise<void>((r) => waiters.push(r));
    return results.shift();
  };
  assert.equal(await take(), 'ready');
  return Object.assign(child, {
    async ask(m: object) {
      child.send({ gitdav: 'test', ...m });
      return take();
    },
  });
}

describe('login back-off shared by a supervisor’s workers', function () {
  this.timeout(60_000);
  let root: string;
  let hold: FolderHold;
  let host: LoginGuardHost;
  let workers: ForkedWorker[] = [];
  const children: ChildProcess[] = [];
  const limits = { loginFreeFailures: 3, loginMaxBackoffMs: 60_000 };

  beforeEach(async () => {
    root = await fsp.mkdtemp(join(tmpdir(), 'gitdav-logins-workers-'));
    await writeUsers(root, new Map([['alice', (await bcrypt.hash('alice-pw', 4)).replace(/^\$2b\$/, '$2y$')]]));
    hold = await holdFolder(join(root, '.gitdav'), root);
    host = new LoginGuardHost({ ...DEFAULTS, root, limits }, createLogger('silent'));
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    workers = [];
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await host.close();
    await hold.release();
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('guesses spread over two workers are throttled as in one process', async () => {
    workers = await Promise.all([0, 1].map(() => forkWorker({ root, backend: 'fs', limits })));
    for (const w of workers) host.attach(w.child as unknown as Worker);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const w = workers[i % 2]!;
      statuses.push((await raw(w.url, '/', { method: 'PROPFIND', headers: { Depth: '0', ...basic('alice', `wrong-${i}`) } })).status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429], 'three free failures in all, then both workers wait');
    // Bob (no such user) from the same address is another pair: not held by Alice's.
    assert.equal((await raw(workers[1]!.url, '/', { method: 'PROPFIND', headers: { Depth: '0', ...basic('bob', 'x') } })).status, 401);
  });

  it('a worker that dies with attempts open leaves them counted as failed; a begin without a supervisor waits', async () => {
    const a = await clientProcess(root);
    children.push(a);
    host.attach(a as unknown as Worker);
    for (let i = 0; i < 3; i++) assert.ok('ticket' in ((await a.ask({ cmd: 'begin', user: 'alice', address: '192.0.2.7' })) as object));
    const exited = once(a, 'exit');
    a.kill('SIGKILL');
    await exited; // the host heard of it first (its listener came first)
    assert.deepEqual(host.counts('alice', '192.0.2.7'), { open: 0, failures: 3 }, 'settled, as failed');
    const b = await clientProcess(root);
    children.push(b);
    host.attach(b as unknown as Worker);
    const next = (await b.ask({ cmd: 'begin', user: 'alice', address: '192.0.2.7' })) as { waitMs?: number };
    assert.ok((next.waitMs ?? 0) > 0, `the dead worker's three attempts count: ${JSON.stringify(next)}`);
    // Another address is another pair: let through, and settled.
    const other = (await b.ask({ cmd: 'begin', user: 'alice', address: '192.0.2.8' })) as { ticket?: number };
    assert.ok(other.ticket !== undefined);
    // Two clients of one worker (two tenants): their requests are told apart.
    const d = await clientProcess(root);
    children.push(d);
    host.attach(d as unknown as Worker);
    const before = host.counts('bob', '192.0.2.10').open;
    const one = (await d.ask({ cmd: 'begin', user: 'bob', address: '192.0.2.10' })) as { ticket?: number };
    const two = (await d.ask({ cmd: 'begin2', user: 'carol', address: '192.0.2.10' })) as { ticket?: number };
    assert.ok(one.ticket !== undefined && two.ticket !== undefined && one.ticket !== two.ticket, `${one.ticket} ${two.ticket}`);
    assert.equal(host.counts('bob', '192.0.2.10').open, before + 2);
    assert.equal(await b.ask({ cmd: 'finish', ticket: other.ticket, outcome: 'unchecked' }), 'finished');
    // Not attached to a host: no answer within the client's limit → wait, never a free check.
    const c = await clientProcess(root);
    children.push(c);
    const lost = (await c.ask({ cmd: 'begin', user: 'alice', address: '192.0.2.9' })) as { waitMs?: number };
    assert.ok((lost.waitMs ?? 0) > 0, JSON.stringify(lost));
  });
});
