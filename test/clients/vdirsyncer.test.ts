/**
 * vdirsyncer (Debian) syncing a folder of .ics files with the server, the way it runs from cron:
 * discovery from the root URL, collections created on either side, uploads, downloads, edits and
 * deletions both ways, a conflict (reported without `conflict_resolution`, resolved with "a wins"),
 * metasync of displayname/color, and a date-limited caldav storage (calendar-query time-range).
 */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { raw, startTestServer, type BackendName, type TestServer } from '../helpers/server.js';
import { requireTool, tool, type ToolResult } from '../helpers/tools.js';

const VDIRSYNCER = '/usr/bin/vdirsyncer';

/** One VEVENT in a VCALENDAR, CRLF lines. */
function ics(uid: string, summary: string, start: string, end: string, extra = ''): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//gitdav tests//vdirsyncer//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20260101T000000Z',
    `DTSTART:${start}`,
    `DTEND:${end}`,
    ...(extra ? [extra] : []),
    `SUMMARY:${summary}`,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

/** UID -> { file, text } of the .ics files in a local collection folder. */
async function localItems(dir: string): Promise<Map<string, { file: string; text: string }>> {
  const items = new Map<string, { file: string; text: string }>();
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.ics')) continue;
    const text = await readFile(join(dir, name), 'utf8');
    const uid = /^UID:(.*?)\r?$/m.exec(text)?.[1];
    assert.ok(uid, `${name} has no UID`);
    assert.ok(!items.has(uid), `two local files hold UID ${uid}`);
    items.set(uid, { file: join(dir, name), text });
  }
  return items;
}

const summaryOf = (text: string) => /^SUMMARY:(.*?)\r?$/m.exec(text)?.[1];

for (const backend of ['fs', 'git'] as BackendName[]) {
  describe(`real client: vdirsyncer (${backend})`, function () {
    this.timeout(120_000);
    let s: TestServer;
    let dir: string;
    let local: string; // the pair's local side: one folder per collection
    let strict: string; // config without conflict_resolution: any conflict is an error
    let aWins: string; // the same pair, conflict_resolution = "a wins", with metadata for metasync
    let ranged: string; // another pair: a caldav storage limited by start_date/end_date

    const vdirsyncer = async (config: string, args: string[], input?: string): Promise<ToolResult & { out: string }> => {
      const r = await tool(VDIRSYNCER, ['-c', config, ...args], {
        timeout: 60_000,
        input,
        env: { ...process.env, HOME: dir, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
      });
      return { ...r, out: r.stdout + r.stderr };
    };
    const get = (path: string) => raw(s.url, path);
    const put = (path: string, body: string) => raw(s.url, path, { method: 'PUT', headers: { 'Content-Type': 'text/calendar; charset=utf-8' }, body });

    before(async function () {
      requireTool(this, VDIRSYNCER, 'vdirsyncer');
      s = await startTestServer({ backend, caldav: true });
      dir = await mkdtemp(join(tmpdir(), 'gitdav-vdirsyncer-'));
      local = join(dir, 'local');
      await mkdir(join(local, 'work'), { recursive: true });
      await mkdir(join(dir, 'ranged'));
      const pair = (extra: string) => `[general]
status_path = "${join(dir, 'status')}/"

[pair cal]
a = "cal_local"
b = "cal_remote"
collections = ["from a", "from b"]
${extra}

[storage cal_local]
type = "filesystem"
path = "${local}/"
fileext = ".ics"

[storage cal_remote]
type = "caldav"
url = "${s.url}/"
username = "user"
password = "ignored"
`;
      strict = join(dir, 'strict.conf');
      aWins = join(dir, 'a-wins.conf');
      ranged = join(dir, 'ranged.conf');
      await writeFile(strict, pair(''));
      await writeFile(aWins, pair('conflict_resolution = "a wins"\nmetadata = ["color", "displayname"]'));
      await writeFile(
        ranged,
        `[general]
status_path = "${join(dir, 'ranged-status')}/"

[pair ranged]
a = "ranged_local"
b = "ranged_remote"
collections = null

[storage ranged_local]
type = "filesystem"
path = "${join(dir, 'ranged')}/"
fileext = ".ics"

[storage ranged_remote]
type = "caldav"
url = "${s.url}/calendars/user/calendar/"
username = "user"
password = "ignored"
start_date = "datetime(2026, 12, 1)"
end_date = "datetime(2027, 1, 1)"
item_types = ["VEVENT"]
`,
      );
      // Three local events in a collection the server does not have yet (never one item alone:
      // vdirsyncer refuses to sync a side that was "completely emptied").
      for (const n of [1, 2, 3]) {
        await writeFile(join(local, 'work', `w-${n}.ics`), ics(`w-${n}`, `Work ${n}`, `2026120${n}T100000Z`, `2026120${n}T110000Z`));
      }
    });
    after(async () => {
      await s?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('discover finds the server calendar from the root URL and creates the local-only one on the server', async () => {
      // Each side lacks the other's collection: vdirsyncer asks twice whether to create it.
      const r = await vdirsyncer(strict, ['discover'], 'y\ny\ny\ny\n');
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /cal_remote:\s*\n\s*- "calendar" \("Calendar"\)/, r.out);
      assert.match(r.out, /collections = \[("work", "calendar"|"calendar", "work")\]/, r.out);
      assert.ok((await stat(join(local, 'calendar'))).isDirectory(), 'local folder for the server calendar');
      const pf = await raw(s.url, '/calendars/user/work/', {
        method: 'PROPFIND',
        headers: { Depth: '0', 'Content-Type': 'application/xml' },
        body: '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>',
      });
      assert.equal(pf.status, 207, pf.text);
      assert.match(pf.text, /<(?:[\w-]+:)?calendar(?:\s[^>]*)?\/>/, `the new collection is a calendar: ${pf.text}`);
      assert.match(pf.text, /urn:ietf:params:xml:ns:caldav/);
    });

    it('sync uploads the local .ics files unchanged', async () => {
      const r = await vdirsyncer(strict, ['sync']);
      assert.equal(r.code, 0, r.out);
      for (const [uid, { text }] of await localItems(join(local, 'work'))) {
        const g = await get(`/calendars/user/work/${uid}.ics`);
        assert.equal(g.status, 200, `${uid}: ${r.out}`);
        assert.equal(g.text, text, `${uid} comes back byte for byte`);
      }
    });

    it('sync downloads objects PUT on the server (into either collection)', async () => {
      const bodies: Record<string, [string, string]> = {
        's-1': ['/calendars/user/calendar/s-1.ics', ics('s-1', 'Server 1', '20261210T100000Z', '20261210T110000Z')],
        's-2': ['/calendars/user/calendar/s-2.ics', ics('s-2', 'Server 2', '20261211T100000Z', '20261211T110000Z')],
        's-3': ['/calendars/user/calendar/s-3.ics', ics('s-3', 'Server 3', '20270201T100000Z', '20270201T110000Z')],
        // weekly from 5 Oct, ten times: the last instance (7 Dec) is in December
        's-weekly': ['/calendars/user/calendar/s-weekly.ics', ics('s-weekly', 'Weekly', '20261005T090000Z', '20261005T100000Z', 'RRULE:FREQ=WEEKLY;COUNT=10')],
        // weekly from 5 Oct, three times: all in October
        's-short': ['/calendars/user/calendar/s-short.ics', ics('s-short', 'Short', '20261005T090000Z', '20261005T100000Z', 'RRULE:FREQ=WEEKLY;COUNT=3')],
        's-w': ['/calendars/user/work/s-w.ics', ics('s-w', 'Server in work', '20261204T100000Z', '20261204T110000Z')],
      };
      for (const [path, body] of Object.values(bodies)) assert.equal((await put(path, body)).status, 201, path);
      const r = await vdirsyncer(strict, ['sync']);
      assert.equal(r.code, 0, r.out);
      const cal = await localItems(join(local, 'calendar'));
      const work = await localItems(join(local, 'work'));
      assert.deepEqual([...cal.keys()].sort(), ['s-1', 's-2', 's-3', 's-short', 's-weekly']);
      assert.deepEqual([...work.keys()].sort(), ['s-w', 'w-1', 'w-2', 'w-3']);
      for (const [uid, [, body]] of Object.entries(bodies)) {
        assert.equal((uid === 's-w' ? work : cal).get(uid)!.text, body, `${uid} arrives byte for byte`);
      }
    });

    it('an edit on each side syncs to the other', async () => {
      const w1 = join(local, 'work', 'w-1.ics');
      await writeFile(w1, (await readFile(w1, 'utf8')).replace('SUMMARY:Work 1', 'SUMMARY:Work 1 edited locally'));
      assert.equal((await put('/calendars/user/calendar/s-1.ics', ics('s-1', 'Server 1 edited remotely', '20261210T100000Z', '20261210T110000Z'))).status, 204);
      const r = await vdirsyncer(strict, ['sync']);
      assert.equal(r.code, 0, r.out);
      assert.equal(summaryOf((await get('/calendars/user/work/w-1.ics')).text), 'Work 1 edited locally');
      assert.equal(summaryOf((await localItems(join(local, 'calendar'))).get('s-1')!.text), 'Server 1 edited remotely');
      // nothing else moved: a second sync has nothing to do
      const again = await vdirsyncer(strict, ['sync']);
      assert.equal(again.code, 0, again.out);
      assert.doesNotMatch(again.out, /Copying|Deleting/, again.out);
    });

    it('a deletion on each side syncs to the other', async () => {
      await unlink(join(local, 'work', 'w-2.ics'));
      assert.equal((await raw(s.url, '/calendars/user/calendar/s-2.ics', { method: 'DELETE' })).status, 204);
      const r = await vdirsyncer(strict, ['sync']);
      assert.equal(r.code, 0, r.out);
      assert.equal((await get('/calendars/user/work/w-2.ics')).status, 404, r.out);
      assert.deepEqual([...(await localItems(join(local, 'calendar'))).keys()].sort(), ['s-1', 's-3', 's-short', 's-weekly']);
      assert.deepEqual([...(await localItems(join(local, 'work'))).keys()].sort(), ['s-w', 'w-1', 'w-3']);
      assert.equal((await get('/calendars/user/work/w-1.ics')).status, 200);
    });

    it('an edit on both sides is a conflict: reported without conflict_resolution, then "a wins" settles it', async () => {
      const w3 = join(local, 'work', 'w-3.ics');
      const mine = ics('w-3', 'Work 3 by A', '20261203T100000Z', '20261203T110000Z');
      const theirs = ics('w-3', 'Work 3 by B', '20261203T100000Z', '20261203T110000Z');
      await writeFile(w3, mine);
      assert.equal((await put('/calendars/user/work/w-3.ics', theirs)).status, 204);

      // Only this collection: vdirsyncer aborts the other collections' requests when one fails.
      const r = await vdirsyncer(strict, ['sync', 'cal/work']);
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, /One item changed on both sides/, r.out);
      assert.match(r.out, /Item ID: w-3/, r.out);
      assert.equal(await readFile(w3, 'utf8'), mine, 'nothing was overwritten locally');
      assert.equal((await get('/calendars/user/work/w-3.ics')).text, theirs, 'nothing was overwritten on the server');

      const resolved = await vdirsyncer(aWins, ['sync']);
      assert.equal(resolved.code, 0, resolved.out);
      assert.equal(await readFile(w3, 'utf8'), mine);
      assert.equal((await get('/calendars/user/work/w-3.ics')).text, mine, 'side A won on the server too');
      const again = await vdirsyncer(strict, ['sync']);
      assert.equal(again.code, 0, again.out);
      assert.doesNotMatch(again.out, /Copying|Deleting/, again.out);
    });

    it('metasync copies displayname and color both ways (PROPPATCH / PROPFIND)', async () => {
      await writeFile(join(local, 'work', 'displayname'), 'Work stuff');
      await writeFile(join(local, 'work', 'color'), '#FF8800');
      const r = await vdirsyncer(aWins, ['metasync']);
      assert.equal(r.code, 0, r.out);
      const pf = await raw(s.url, '/calendars/user/work/', {
        method: 'PROPFIND',
        headers: { Depth: '0', 'Content-Type': 'application/xml' },
        body: '<?xml version="1.0"?><propfind xmlns="DAV:" xmlns:A="http://apple.com/ns/ical/"><prop><displayname/><A:calendar-color/></prop></propfind>',
      });
      assert.equal(pf.status, 207);
      assert.match(pf.text, /displayname[^>]*>Work stuff</, pf.text);
      assert.match(pf.text, /calendar-color[^>]*>#FF8800</, pf.text);
      assert.equal((await readFile(join(local, 'calendar', 'displayname'), 'utf8')).trim(), 'Calendar');
    });

    it('a caldav storage with start_date/end_date syncs only the events in range (calendar-query time-range)', async () => {
      const d = await vdirsyncer(ranged, ['discover']);
      assert.equal(d.code, 0, d.out);
      const r = await vdirsyncer(ranged, ['sync']);
      assert.equal(r.code, 0, r.out);
      // s-1 (10 Dec) and s-weekly (last instance 7 Dec); not s-3 (February) nor s-short (October)
      assert.deepEqual([...(await localItems(join(dir, 'ranged'))).keys()].sort(), ['s-1', 's-weekly'], r.out);
    });
  });
}
