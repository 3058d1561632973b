/**
 * A supervisor's workers are as correct as one process (issue 12, item 2): CalDAV's UID check, the
 * object index, sync tokens, the temp area and server.pid, each tried with real worker processes
 * forked by the test, which plays the supervisor (it holds server.pid and the IPC channel). Bounded
 * by rounds; a hang fails on mocha's limit, never a timing assertion.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { FolderInUseError, holdFolder, LOCK_NAME, parseHolder, type FolderHold } from '../backends/fs/folder-lock.js';
import { readLockText } from '../backends/util/lock-file.js';
import { formatHolder, self } from '../backends/util/process-identity.js';
import { dist, runChild } from './helpers/child-script.js';
import { raw } from './helpers/server.js';
import { forkWorker, type ForkedWorker } from './helpers/worker-fixture.js';

const ev = (uid: string) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', 'DTSTART:20261201T100000Z', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
const CAL = '/calendars/user/race/';

for (const backend of ['fs', 'git'] as const) {
  describe(`two workers on one ${backend === 'fs' ? 'folder' : 'repository'}`, function () {
    this.timeout(120_000);
    let root: string;
    let hold: FolderHold | undefined;
    let workers: ForkedWorker[] = [];

    beforeEach(async () => {
      root = await fsp.mkdtemp(join(tmpdir(), `gitdav-workers-${backend}-`));
      // The test is the supervisor: it holds the folder (a repository has no server.pid).
      if (backend === 'fs') hold = await holdFolder(join(root, '.gitdav'), root);
      workers = await Promise.all([0, 1].map(() => forkWorker({ root, backend })));
    });
    afterEach(async () => {
      await Promise.all(workers.map((w) => w.stop()));
      await hold?.release();
      hold = undefined;
      await fsp.rm(root, { recursive: true, force: true });
    });

    it('never accept one UID twice in one calendar: racing PUTs of one UID under two names, many rounds', async () => {
      const [a, b] = workers;
      assert.equal((await raw(a!.url, CAL, { method: 'MKCALENDAR' })).status, 201);
      const put = (w: ForkedWorker, name: string, uid: string) => raw(w.url, CAL + name, { method: 'PUT', body: ev(uid), headers: { 'Content-Type': 'text/calendar' } });
      // Another UID's write in flight all along (a live holder, this process, keeps its lock file):
      // the folder backend's index then trusts an unknown ETag and must learn each stored UID from
      // the journal, not from a rebuild.
      let inFlight: string | undefined;
      if (backend === 'fs') {
        assert.equal((await put(a!, 'warm.ics', 'uid-warm')).status, 201);
        const dir = join(root, '.gitdav', 'caldav-uids');
        const log = (await fsp.readdir(dir)).find((n) => n.endsWith('.log'))!;
        inFlight = join(dir, `${log.slice(0, -4)}-${'0'.repeat(40)}.lock`);
        await fsp.symlink(formatHolder(self(), undefined, true), inFlight);
      }
      const ROUNDS = 40;
      for (let i = 0; i < ROUNDS; i++) {
        const [ra, rb] = await Promise.all([put(a!, `a-${i}.ics`, `uid-${i}`), put(b!, `b-${i}.ics`, `uid-${i}`)]);
        assert.deepEqual([ra.status, rb.status].sort(), [201, 409], `round ${i}: ${ra.status} ${rb.status}`);
        assert.match((ra.status === 409 ? ra : rb).text, /no-uid-conflict/);
      }
      if (inFlight) await fsp.rm(inFlight);
      // And a UID the other worker stored long ago is refused too (its index follows).
      assert.equal((await put(a!, 'late.ics', 'uid-0')).status, 409);
      assert.equal((await put(b!, 'late.ics', 'uid-1')).status, 409);
      const listing = await raw(b!.url, CAL, { method: 'PROPFIND', headers: { Depth: '1' } });
      const members = [...listing.text.matchAll(/<D:href>[^<]*\/([ab]-\d+\.ics)<\/D:href>/g)].map((m) => m[1]);
      assert.equal(members.length, ROUNDS, `one object per UID: ${members.join(' ')}`);
    });

    it('a sync token issued by one worker is valid at the other, also while both save the same snapshot at once', async () => {
      const [a, b] = workers;
      const SYNC = (token: string) => `<D:sync-collection xmlns:D="DAV:"><D:sync-token>${token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`;
      const sync = async (w: ForkedWorker, token: string) => {
        const r = await raw(w.url, '/s/', { method: 'REPORT', body: SYNC(token), headers: { 'Content-Type': 'application/xml' } });
        assert.equal(r.status, 207, r.text);
        return { token: /<D:sync-token>([^<]+)<\/D:sync-token>/.exec(r.text)![1]!, text: r.text };
      };
      assert.equal((await raw(a!.url, '/s/', { method: 'MKCOL' })).status, 201);
      assert.equal((await raw(a!.url, '/s/x.txt', { method: 'PUT', body: 'x' })).status, 201);
      for (let i = 0; i < 10; i++) {
        const [ta, tb] = await Promise.all([sync(a!, ''), sync(b!, '')]);
        assert.equal((await raw(a!.url, `/s/r${i}.txt`, { method: 'PUT', body: String(i) })).status, 201);
        const [onB, onA] = await Promise.all([sync(b!, ta.token), sync(a!, tb.token)]);
        for (const r of [onB, onA]) assert.match(r.text, new RegExp(`/s/r${i}\\.txt<`), `round ${i}: the change is reported`);
      }
    });
  });
}

describe('a supervised worker and the folder’s server.pid', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-supervised-'));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  /** holdFolder(supervised) in a child: forked (the test is its parent, with a channel) or spawned (no channel). Prints `held` or the error's name. */
  const tryHold = async (stateDir: string, how: 'fork' | 'spawn', reopen = false): Promise<string> => {
    const file = join(dir, 'hold.mjs');
    const hold = `m.holdFolder(${JSON.stringify(stateDir)}, 'x', { supervised: true })`;
    // reopen: opened again while the first hold is being let go (the second waits, then takes it afresh).
    const body = reopen ? `const h = await ${hold}; const gone = h.release(); const h2 = await ${hold}; await gone; await h2.release();` : `const h = await ${hold}; await h.release();`;
    await fsp.writeFile(file, `const m = await import(${dist('backends/fs/folder-lock.js')});
try { ${body} console.log('held'); } catch (e) { console.log(e.name); }
process.exit(0);`);
    const child = how === 'fork' ? fork(file, [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] }) : spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await once(child, 'exit');
    return out.trim();
  };

  it('accepts the supervisor’s file, writes one in its name where there is none, refuses another server’s, and needs a supervisor', async () => {
    const mine = join(dir, 'mine');
    const h = await holdFolder(mine, dir);
    assert.equal(await tryHold(mine, 'fork'), 'held', 'the supervisor (the test) holds it');
    assert.equal(await tryHold(mine, 'fork', true), 'held', 'also when opened again while being let go (still supervised)');
    assert.equal(parseHolder((await readLockText(join(mine, LOCK_NAME)))!)?.pid, process.pid, 'and still does after the worker let go');
    await h.release();

    const fresh = join(dir, 'fresh');
    assert.equal(await tryHold(fresh, 'fork'), 'held');
    assert.equal(parseHolder((await readLockText(join(fresh, LOCK_NAME)))!)?.pid, process.pid, 'written in the supervisor’s name, left for the other workers');
    await assert.rejects(holdFolder(fresh, dir), FolderInUseError, 'so another server is refused while the supervisor runs');

    const other = join(dir, 'other');
    const server = runChild(`const m = await import(${dist('backends/fs/folder-lock.js')}); await m.holdFolder(${JSON.stringify(other)}, 'x'); out('HELD'); commands(() => undefined);`);
    try {
      await server.next(/HELD/);
      assert.equal(await tryHold(other, 'fork'), 'FolderInUseError', 'another server holds it');
    } finally {
      await server.kill();
    }
    assert.equal(await tryHold(join(dir, 'lonely'), 'spawn'), 'FolderInUseError', 'a worker without a supervisor');
  });
});

describe('the sync-token key made by several processes at once', function () {
  this.timeout(60_000);
  it('ends with one key, which every process uses (5 rounds of 4 processes)', async () => {
    const base = await fsp.mkdtemp(join(tmpdir(), 'gitdav-key-race-'));
    try {
      for (let round = 0; round < 5; round++) {
        const dir = join(base, String(round));
        const script = `const { SyncTokenKey } = await import(${dist('backends/sync-token-key.js')}); out(await SyncTokenKey.in(${JSON.stringify(dir)}).sign('/c/', 'abc'));`;
        const children = Array.from({ length: 4 }, () => runChild(script));
        const signed = await Promise.all(children.map((c) => c.next(/^abc\./)));
        await Promise.all(children.map((c) => c.end()));
        assert.equal(new Set(signed).size, 1, `round ${round}: ${signed.join(' ')}`);
      }
    } finally {
      await fsp.rm(base, { recursive: true, force: true });
    }
  });
});
