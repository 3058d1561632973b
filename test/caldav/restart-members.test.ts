/**
 * The calendar's member list saved on disk (lib/caldav/state/member-file.ts), on git: a restarted
 * server, or a worker with nothing kept, starts from the saved list and applies the changes since its
 * sync token, so it is never trusted beyond the tree it names. Checked: the saved list is really
 * used (a forged list for the current token shows through, which also proves that only the token
 * guards it); a native git commit while the server is down, a write through another worker, and a
 * write followed by a restart are all seen; a corrupt or truncated file is ignored; a request that
 * asks for dates gets the real ones (a saved list holds none).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Agent } from 'node:http';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, serveWorkers, stopAfterEach, type Served } from '../workers/helpers.js';
import { parseList, serializeList, MEMBERS_DIR } from '../../lib/caldav/state/member-file.js';
import { ics } from '../helpers/fixtures.js';

const CAL = '/calendars/user/calendar/';
const C = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"';
const oneEach = new Agent({ keepAlive: false });
const event = (uid: string, day: string) => ics('BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20240101T000000Z', `DTSTART:${day}T100000Z`, `DTEND:${day}T110000Z`, 'END:VEVENT');
const weekly = ics('BEGIN:VEVENT', 'UID:weekly', 'DTSTAMP:20240101T000000Z', 'DTSTART:20240105T090000Z', 'DTEND:20240105T100000Z', 'RRULE:FREQ=WEEKLY;COUNT=20', 'END:VEVENT');

const OBJECTS: Record<string, string> = {
  'a.ics': event('a', '20240305'),
  'b.ics': event('b', '20240306'),
  'c.ics': event('c', '20240307'),
  'may.ics': event('may', '20240505'),
  'weekly.ics': weekly,
};
const MARCH = `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240301T000000Z" end="20240401T000000Z"/></C:comp-filter></C:comp-filter>`;
const query = (props = '<D:getetag/><C:calendar-data/>') => `<?xml version="1.0"?><C:calendar-query ${C}><D:prop>${props}</D:prop><C:filter>${MARCH}</C:filter></C:calendar-query>`;

async function marchNames(url: string): Promise<string[]> {
  const r = await http(url, CAL, { method: 'REPORT', body: query(), headers: { Depth: '1', 'Content-Type': 'application/xml' }, agent: oneEach });
  assert.equal(r.status, 207, r.body.toString());
  return [...r.body.toString().matchAll(/<D:href>[^<]*\/([^/<]+\.ics)<\/D:href>/g)].map((m) => m[1]!).sort();
}

async function put(url: string, name: string, body: string): Promise<void> {
  const r = await http(url, CAL + name, { method: 'PUT', body, headers: { 'Content-Type': 'text/calendar; charset=utf-8' }, agent: oneEach });
  assert.ok(r.status === 201 || r.status === 204, `PUT ${name}: ${r.status} ${r.body.toString()}`);
}

describe('calendar members saved on disk (git backend)', function () {
  this.timeout(120_000);
  let s: Served | undefined;
  stopAfterEach(() => s, () => (s = undefined));
  let dir: string;
  let root: string;
  const membersDir = () => join(root, 'gitdav', MEMBERS_DIR);
  const serve = async (workers = 1) => (s = await serveWorkers(['--root', root, '--backend', 'git', '--workers', String(workers)]));
  const stop = async () => {
    assert.equal(await s!.stop(), 0);
    s = undefined;
  };
  /** The one saved list: its file, user, path and contents. */
  const saved = async () => {
    const names = (await readdir(membersDir())).filter((n) => n.endsWith('.json'));
    assert.equal(names.length, 1, names.join(' '));
    const file = join(membersDir(), names[0]!);
    const text = await readFile(file, 'utf8');
    const { user, path } = JSON.parse(/"body":(.*)\}\n$/s.exec(text)![1]!) as { user: string; path: string };
    const list = parseList(text, user, path);
    assert.ok(list, 'a whole list');
    return { file, user, path, list };
  };
  /** Native commits by another git client, the server down or not. */
  const nativeCommit = (changes: Record<string, string | null>) => {
    const parts = [`commit refs/heads/main\ncommitter t <t@localhost> ${Math.floor(Date.now() / 1000)} +0000\ndata 6\nnative\nfrom refs/heads/main^0\n`];
    for (const [name, body] of Object.entries(changes)) {
      parts.push(body === null ? `D calendars/user/calendar/${name}\n` : `M 100644 inline calendars/user/calendar/${name}\ndata ${Buffer.byteLength(body)}\n${body}\n`);
    }
    const r = spawnSync('git', ['--git-dir', root, 'fast-import', '--quiet'], { input: parts.join('') });
    assert.equal(r.status, 0, String(r.stderr));
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-members-'));
    root = join(dir, 'data');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('a query saves the list; a new process starts from it (a forged list for the current token shows through)', async () => {
    await serve();
    for (const [name, body] of Object.entries(OBJECTS)) await put(s!.url, name, body);
    assert.deepEqual(await marchNames(s!.url), ['a.ics', 'b.ics', 'c.ics', 'weekly.ics']);
    await stop(); // saves what is pending
    const { file, user, path, list } = await saved();
    assert.deepEqual(list.members.map((m) => m[0]).sort(), Object.keys(OBJECTS).sort());
    // The list for the current token is believed as it is: drop b.ics from it, and a new process
    // does not see b.ics. (Which is why the token must name the state the list was read at.)
    await writeFile(file, serializeList(user, path, { token: list.token, members: list.members.filter((m) => m[0] !== 'b.ics') }));
    await serve();
    assert.deepEqual(await marchNames(s!.url), ['a.ics', 'c.ics', 'weekly.ics']);
    await stop();
    await writeFile(file, serializeList(user, path, list));
    await serve();
    assert.deepEqual(await marchNames(s!.url), ['a.ics', 'b.ics', 'c.ics', 'weekly.ics']);
    await stop();
  });

  it('a native git commit while the server is down is seen after the restart', async () => {
    const before = (await saved()).list.token;
    nativeCommit({ 'a.ics': null, 'may.ics': event('may', '20240315'), 'new.ics': event('new', '20240320') });
    await serve();
    assert.deepEqual(await marchNames(s!.url), ['b.ics', 'c.ics', 'may.ics', 'new.ics', 'weekly.ics']);
    await stop();
    assert.notEqual((await saved()).list.token, before, 'saved again at the new state');
  });

  it('writes through one worker and native commits are seen by the other, and after a restart', async () => {
    await serve(2);
    // Both workers start from the saved list (new connections: either may answer).
    for (let i = 0; i < 4; i++) assert.deepEqual(await marchNames(s!.url), ['b.ics', 'c.ics', 'may.ics', 'new.ics', 'weekly.ics']);
    await put(s!.url, 'b.ics', event('b', '20240406'));
    await put(s!.url, 'd.ics', event('d', '20240308'));
    for (let i = 0; i < 4; i++) assert.deepEqual(await marchNames(s!.url), ['c.ics', 'd.ics', 'may.ics', 'new.ics', 'weekly.ics']);
    nativeCommit({ 'c.ics': null });
    for (let i = 0; i < 4; i++) assert.deepEqual(await marchNames(s!.url), ['d.ics', 'may.ics', 'new.ics', 'weekly.ics']);
    await stop();
    nativeCommit({ 'e.ics': event('e', '20240309') });
    await serve();
    assert.deepEqual(await marchNames(s!.url), ['d.ics', 'e.ics', 'may.ics', 'new.ics', 'weekly.ics']);
    await stop();
  });

  it('a corrupt or truncated list is ignored, never believed', async () => {
    const { file, user, path, list } = await saved();
    const good = serializeList(user, path, { token: list.token, members: list.members.filter((m) => m[0] !== 'd.ics') });
    for (const bad of [good.slice(0, good.length - 20), good.replace('"d.ics"', '"x.ics"').replace(/"e\.ics"/, '"f.ics"'), '\0\0', '']) {
      await writeFile(file, bad);
      await serve();
      assert.deepEqual(await marchNames(s!.url), ['d.ics', 'e.ics', 'may.ics', 'new.ics', 'weekly.ics']);
      await stop();
    }
  });

  it('dates asked for are the real ones (a saved list holds none); multiget too', async () => {
    await serve();
    const props = '<D:getetag/><D:getlastmodified/>';
    const byPropfind = await http(s!.url, CAL, { method: 'PROPFIND', body: `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>${props}</D:prop></D:propfind>`, headers: { Depth: '1', 'Content-Type': 'application/xml' }, agent: oneEach });
    const dates = (text: string) => new Map([...text.matchAll(/<D:href>[^<]*\/([^/<]+\.ics)<\/D:href>[\s\S]*?<D:getlastmodified>([^<]+)</g)].map((m) => [m[1]!, m[2]!]));
    const want = dates(byPropfind.body.toString());
    assert.ok(want.size >= 5 && ![...want.values()].some((d) => d.includes('1970')));
    // A plain query first: the members kept now come from the saved list.
    assert.deepEqual(await marchNames(s!.url), ['d.ics', 'e.ics', 'may.ics', 'new.ics', 'weekly.ics']);
    // A multiget now (the kept entries have no dates), then a query asking dates.
    const hrefs = ['d.ics', 'e.ics', 'weekly.ics'].map((n) => `<D:href>${CAL}${n}</D:href>`).join('');
    const m = await http(s!.url, CAL, { method: 'REPORT', body: `<?xml version="1.0"?><C:calendar-multiget ${C}><D:prop>${props}</D:prop>${hrefs}</C:calendar-multiget>`, headers: { Depth: '0', 'Content-Type': 'application/xml' }, agent: oneEach });
    const mdates = dates(m.body.toString());
    assert.equal(mdates.size, 3, m.body.toString());
    for (const [name, d] of mdates) assert.equal(d, want.get(name), name);
    const q = await http(s!.url, CAL, { method: 'REPORT', body: query(props), headers: { Depth: '1', 'Content-Type': 'application/xml' }, agent: oneEach });
    const got = dates(q.body.toString());
    assert.equal(got.size, 5, q.body.toString());
    for (const [name, d] of got) assert.equal(d, want.get(name), name);
    await stop();
  });
});
