/**
 * What the DAV and CalDAV layers tell a backend for history (issue 14): an UNLOCK reaches a backend
 * that listens (`UnlockAware`) with when the lock was taken, through a mount view to the tree the path
 * is stored in; DELETE in a calendar and MKCALENDAR carry a summary (`Delete event "Dentist"`,
 * `Create calendar "Work"`); a lock's creation time is persisted and read back strictly.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Actor, Backend, MutationOptions } from '../../backends/backend.js';
import { isUnlockAware } from '../../backends/capabilities.js';
import { MountView } from '../../backends/mount/view.js';
import { MountTable } from '../../backends/mount/table.js';
import { createApp, listen, type RunningServer } from '../../lib/server.js';
import { ProxyHeaderAuthenticator } from '../../lib/auth/authenticator.js';
import { openBackend } from '../../lib/tenants.js';
import { LockStore } from '../../lib/dav/locks/lock-store.js';
import { lockBody, raw } from '../helpers/server.js';

interface Heard {
  unlocks: Array<{ path: string; lockedAt: number; user?: string }>;
  summaries: Array<{ op: string; path: string; summary?: string }>;
}

/** A backend that also listens for UNLOCKs, and notes the summaries its removes and mkcols get. */
function listening(inner: Backend, heard: Heard): Backend {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'unlocked') {
        return async (path: string, lockedAt: number, actor?: Actor) => void heard.unlocks.push({ path, lockedAt, ...(actor?.user ? { user: actor.user } : {}) });
      }
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (prop === 'remove' || prop === 'mkcol') {
        return (path: string, options?: MutationOptions) => {
          heard.summaries.push({ op: prop, path, ...(options?.summary ? { summary: options.summary } : {}) });
          return fn.call(target, path, options);
        };
      }
      return fn.bind(target);
    },
  });
}

const EVENT = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', 'UID:d1', 'DTSTAMP:20261101T000000Z', 'DTSTART:20261201T100000Z', 'SUMMARY:Dentist', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
const TODO = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VTODO', 'UID:t1', 'DTSTAMP:20261101T000000Z', 'SUMMARY:Call\r\n  Bob', 'END:VTODO', 'END:VCALENDAR', ''].join('\r\n');
const MKCALENDAR = '<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>Work</D:displayname></D:prop></D:set></C:mkcalendar>';

describe('what DAV tells a backend for history: UNLOCK, DELETE and MKCALENDAR summaries', () => {
  let root: string;
  let running: RunningServer;
  let heard: Heard;
  const as = (headers: Record<string, string> = {}) => ({ ...headers, 'x-user': 'alice' });

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gitdav-unlock-hear-'));
    heard = { unlocks: [], summaries: [] };
    const backend = listening(await openBackend('fs', root), heard);
    const app = await createApp({ backend, auth: new ProxyHeaderAuthenticator('x-user', new Set(['127.0.0.1'])) });
    running = await listen(app, '127.0.0.1', 0);
  });
  afterEach(async () => {
    await running.close();
    await rm(root, { recursive: true, force: true });
  });

  it('UNLOCK tells the backend the lock\'s root, when it was taken and who released it', async () => {
    const before = Date.now();
    assert.equal((await raw(running.url, '/d', { method: 'MKCOL', headers: as() })).status, 201);
    const lock = await raw(running.url, '/d', { method: 'LOCK', body: lockBody(), headers: as({ 'Content-Type': 'application/xml', Depth: 'infinity' }) });
    assert.equal(lock.status, 200);
    const after = Date.now();
    assert.equal((await raw(running.url, '/d/f.txt', { method: 'PUT', body: 'x', headers: as({ If: `(${String(lock.headers['lock-token'])})` }) })).status, 201);
    assert.equal(heard.unlocks.length, 0);
    assert.equal((await raw(running.url, '/d/f.txt', { method: 'UNLOCK', headers: as({ 'Lock-Token': String(lock.headers['lock-token']) }) })).status, 204);
    assert.equal(heard.unlocks.length, 1);
    const [u] = heard.unlocks;
    assert.equal(u!.path, '/d');
    assert.equal(u!.user, 'alice');
    assert.ok(u!.lockedAt >= before && u!.lockedAt <= after, `${u!.lockedAt} within [${before}, ${after}]`);
  });

  it('DELETE of an event, a task and a calendar, and MKCALENDAR, carry summaries; plain DELETE and MKCOL none', async () => {
    assert.equal((await raw(running.url, '/work', { method: 'MKCALENDAR', body: MKCALENDAR, headers: as({ 'Content-Type': 'application/xml' }) })).status, 201);
    assert.equal((await raw(running.url, '/home', { method: 'MKCALENDAR', headers: as() })).status, 201);
    assert.equal((await raw(running.url, '/plain', { method: 'MKCOL', headers: as() })).status, 201);
    const put = (path: string, body: string) => raw(running.url, path, { method: 'PUT', body, headers: as({ 'Content-Type': 'text/calendar' }) });
    assert.equal((await put('/work/d.ics', EVENT)).status, 201);
    assert.equal((await put('/work/t.ics', TODO)).status, 201);
    assert.equal((await raw(running.url, '/plain/x.txt', { method: 'PUT', body: 'x', headers: as() })).status, 201);
    for (const p of ['/work/d.ics', '/work/t.ics', '/plain/x.txt', '/plain', '/work']) assert.equal((await raw(running.url, p, { method: 'DELETE', headers: as() })).status, 204, p);
    assert.deepEqual(
      heard.summaries.filter((s) => !/^\/(calendars|principals|addressbooks)(\/|$)/.test(s.path)),
      [
        { op: 'mkcol', path: '/work', summary: 'Create calendar "Work"' },
        { op: 'mkcol', path: '/home', summary: 'Create calendar "home"' },
        { op: 'mkcol', path: '/plain' },
        { op: 'remove', path: '/work/d.ics', summary: 'Delete event "Dentist"' },
        { op: 'remove', path: '/work/t.ics', summary: 'Delete task "Call Bob"' },
        { op: 'remove', path: '/plain/x.txt' },
        { op: 'remove', path: '/plain' },
        { op: 'remove', path: '/work', summary: 'Delete calendar "Work"' },
      ],
    );
  });
});

describe('a mount view forwards UNLOCK to the tree that stores the path', () => {
  it('translates the path into the mounted tree; history (a read-only part) and deaf trees hear nothing', async () => {
    const heardOwn: Heard = { unlocks: [], summaries: [] };
    const heardShare: Heard = { unlocks: [], summaries: [] };
    const dirs = await Promise.all([0, 1, 2].map(() => mkdtemp(join(tmpdir(), 'gitdav-view-unlock-'))));
    try {
      const own = listening(await openBackend('fs', dirs[0]!), heardOwn);
      const share = listening(await openBackend('fs', dirs[1]!), heardShare);
      const deaf = await openBackend('fs', dirs[2]!);
      const view = new MountView(
        own,
        new MountTable([
          { at: '/shared', path: '/cal/work', target: share, access: 'write', owner: 'bob' },
          { at: '/.history', path: '/', target: share, access: 'read', readOnlyPart: 'history is read-only' },
          { at: '/deaf', path: '/', target: deaf, access: 'write' },
        ]),
      );
      assert.ok(isUnlockAware(view));
      await view.unlocked('/mine/a.txt', 5, { user: 'alice' });
      await view.unlocked('/shared/x.ics', 6, { user: 'alice' });
      await view.unlocked('/.history/commits', 7);
      await view.unlocked('/deaf/y', 8);
      assert.deepEqual(heardOwn.unlocks, [{ path: '/mine/a.txt', lockedAt: 5, user: 'alice' }]);
      assert.deepEqual(heardShare.unlocks, [{ path: '/cal/work/x.ics', lockedAt: 6, user: 'alice' }]);
    } finally {
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    }
  });
});

describe('a lock\'s creation time on disk', () => {
  it('is kept across a reopen, and a lock file whose creation time is not a number is refused as corrupt', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gitdav-lock-created-'));
    try {
      const { store } = await LockStore.open(dir);
      const lock = { token: 'opaquelocktoken:1', root: '/a', depth: 0 as const, scope: 'exclusive' as const, timeout: null, expires: null, created: 1_700_000_000_123 };
      await store.put(lock);
      store.close();
      const again = await LockStore.open(dir);
      assert.equal(again.locks[0]?.created, 1_700_000_000_123);
      again.store.close();
      const files = (await fsp.readdir(join(dir, 'locks'))).filter((n) => n.endsWith('.json'));
      assert.equal(files.length, 1);
      await fsp.writeFile(join(dir, 'locks', files[0]!), JSON.stringify({ ...lock, created: 'yesterday' }));
      await assert.rejects(LockStore.open(dir), /corrupt/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
