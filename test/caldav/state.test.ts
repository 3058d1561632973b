/**
 * CalDAV's state belongs to the tree that stores the calendars (lib/caldav/state/): the owner's
 * mount, an anonymous mount of the same tree and a grantee's view of a shared calendar reach one
 * state; closing the registry (what a server's shutdown does) saves each tree's object index, and a
 * Dav made on its own closes the registry it made.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBackend } from '../../backends/fs/index.js';
import { MountView } from '../../backends/mount/view.js';
import { MountTable } from '../../backends/mount/table.js';
import { createDav } from '../../lib/dav/index.js';
import { CalDavStates, installCalDav } from '../../lib/caldav/index.js';
import { INDEX_FILE, parseIndex } from '../../lib/caldav/state/object-index.js';
import { EMPTY } from '../../lib/caldav/ical/bounds.js';
import { basic, raw, startTestServer } from '../helpers/server.js';
import { ics } from '../helpers/fixtures.js';

const bounds = { uid: 'u', type: 'VEVENT' as const, span: { lo: 1, hi: 2 }, alarms: EMPTY };

describe('CalDAV state per stored tree', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-cdstate-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('the owner, an anonymous view and a grantee reach one state, in the owner’s paths', async () => {
    const alice = await FsBackend.open({ root: join(dir, 'alice') });
    const bob = await FsBackend.open({ root: join(dir, 'bob') });
    try {
      const mount = { at: '/calendars/bob/alice~calendar', path: '/calendars/alice/calendar', target: alice, access: 'write' as const, owner: 'alice' };
      const grantee = new MountView(bob, new MountTable([mount]));
      const states = new CalDavStates();
      const own = states.stateOf(new MountView(alice), '/calendars/alice/calendar/e.ics');
      assert.equal(own.state, states.stateFor(alice.stateDir));
      assert.equal(states.stateOf(alice, '/calendars/alice/calendar/e.ics').state, own.state, 'the plain backend (single-user server)');
      assert.deepEqual(states.stateOf(grantee, '/calendars/bob/alice~calendar/e.ics'), own);
      assert.notEqual(states.stateOf(grantee, '/calendars/bob/calendar/e.ics').state, own.state, 'Bob’s own calendar is his tree’s');
      await states.close();
    } finally {
      await alice.close();
      await bob.close();
    }
  });

  it('closing the registry saves every tree’s object index; a Dav without one closes its own', async () => {
    const states = new CalDavStates();
    states.stateFor(join(dir, 'one')).index.set('"a"', bounds);
    states.stateFor(join(dir, 'two')).index.set('"b"', bounds);
    await states.close();
    for (const [tree, etag] of [['one', '"a"'], ['two', '"b"']]) {
      const rows = parseIndex(await readFile(join(dir, tree, INDEX_FILE), 'utf8'));
      assert.deepEqual(rows?.map((r) => r[0]), [etag]);
    }

    const backend = await FsBackend.open({ root: join(dir, 'alone') });
    try {
      const dav = await createDav({ backend });
      const o = await installCalDav(dav);
      o.states.stateFor(backend.stateDir).index.set('"c"', bounds);
      assert.equal(existsSync(join(backend.stateDir, INDEX_FILE)), false);
      await dav.close();
      assert.deepEqual(parseIndex(await readFile(join(backend.stateDir, INDEX_FILE), 'utf8'))?.map((r) => r[0]), ['"c"']);
    } finally {
      await backend.close();
    }
  });

  it('a multi-user server: what a grantee’s query records lands in the owner’s index, saved when the server closes', async function () {
    this.timeout(30_000);
    const root = join(dir, 'root');
    const BOB = basic('bob', 'bob-secret!');
    const s = await startTestServer({ root, users: { alice: 'alice-secret', bob: 'bob-secret!' }, shares: [{ owner: 'alice', path: '/calendars/alice/calendar', grantee: 'bob', access: 'write' }] });
    const shared = '/calendars/bob/alice~calendar/';
    const etags: string[] = [];
    try {
      for (const uid of ['one', 'two']) {
        const body = ics('BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20240101T000000Z', 'DTSTART:20240312T100000Z', 'DURATION:PT1H', 'END:VEVENT');
        const r = await raw(s.url, `${shared}${uid}.ics`, { method: 'PUT', body, headers: { ...BOB, 'Content-Type': 'text/calendar' } });
        assert.equal(r.status, 201, r.text);
        etags.push(String(r.headers.etag));
      }
      const query = `<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240301T000000Z" end="20240401T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`;
      const r = await raw(s.url, shared, { method: 'REPORT', headers: { ...BOB, Depth: '1', 'Content-Type': 'application/xml' }, body: query });
      assert.equal(r.status, 207, r.text);
      assert.equal([...r.text.matchAll(/<D:response>/g)].length, 2, r.text);
    } finally {
      await s.close();
    }
    const rows = parseIndex(await readFile(join(root, 'users', 'alice', '.gitdav', INDEX_FILE), 'utf8'));
    assert.deepEqual(rows?.map((row) => row[0]).sort(), etags.sort());
    assert.equal(existsSync(join(root, 'users', 'bob', '.gitdav', INDEX_FILE)), false, 'nothing of Alice’s calendar in Bob’s tree');
  });
});
