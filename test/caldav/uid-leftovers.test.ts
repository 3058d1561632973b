/**
 * The folder backend's UID index across processes (lib/caldav/uid-index.ts): a killed process's
 * leftovers (a UID lock file whose holder is dead, an object stored without its journal line) and
 * a DELETE landing while another UID's write is in flight must not make it answer wrongly later.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { formatHolder, self } from '../../backends/util/process-identity.js';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';
import { ics } from '../helpers/fixtures.js';

const CAL = '/calendars/user/c/';
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const event = (uid: string) => ics('BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', 'DTSTART:20261201T100000Z', 'END:VEVENT');
/** A holder that cannot run (another boot). */
const DEAD = '999999 1 deadbeef 4026531836 abcd';

describe('CalDAV UID index: leftovers of killed processes, deletes during writes', () => {
  let s: TestServer;
  let lock: string;
  const put = (name: string, uid: string) =>
    raw(s.url, CAL + name, { method: 'PUT', body: event(uid), headers: { 'Content-Type': 'text/calendar' } }).then((r) => r.status);
  const del = (name: string) => raw(s.url, CAL + name, { method: 'DELETE' }).then((r) => r.status);

  beforeEach(async () => {
    s = await startTestServer({ backend: 'fs', caldav: true });
    assert.equal((await raw(s.url, CAL, { method: 'MKCALENDAR' })).status, 201);
    assert.equal(await put('a.ics', 'u-a'), 201);
    const dir = join(s.root, '.gitdav', 'caldav-uids');
    const log = (await fsp.readdir(dir)).find((n) => n.endsWith('.log'))!;
    lock = join(dir, `${log.slice(0, -4)}-${sha1('other')}.lock`);
  });
  afterEach(() => s.close());

  it('an object a killed process stored without its journal line is seen (its lock file left behind)', async () => {
    await fsp.symlink(DEAD, lock);
    await fsp.writeFile(join(s.root, 'calendars/user/c/x.ics'), event('u-x'));
    assert.equal(await put('y.ics', 'u-y'), 201);
    assert.equal(await put('z.ics', 'u-x'), 409, 'u-x is stored as x.ics');
  });

  it('a delete beside a dead lock file frees the UID', async () => {
    await fsp.symlink(DEAD, lock);
    assert.equal(await del('a.ics'), 204);
    assert.equal(await put('b.ics', 'u-a'), 201);
  });

  it('a delete while another UID is being written frees the UID once that write is over', async () => {
    await fsp.symlink(formatHolder(self(), undefined, true), lock);
    assert.equal(await del('a.ics'), 204);
    assert.equal(await put('y.ics', 'u-y'), 201);
    await fsp.rm(lock); // that write ends
    assert.equal(await put('q.ics', 'u-q'), 201);
    assert.equal(await put('b.ics', 'u-a'), 201);
  });
});
