/**
 * RFC 4791 §7.8 calendar-query across a restart, with the persisted object index (lib/caldav/state/
 * object-index.ts): a new server process on the same data answers with the same hits, byte for byte;
 * objects changed while it was down (a native git commit; a file rewritten in place) are judged by
 * their new content, whatever the index said about the old one; a corrupt index file changes nothing;
 * a SIGTERM saves the entries recorded since the last timed save.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { propfindBody, raw } from '../helpers/server.js';
import { parseIndex } from '../../lib/caldav/state/object-index.js';
import { ics } from '../helpers/fixtures.js';

const CLI = resolve('dist/lib/cli.js');
const CAL = '/calendars/user/calendar/';
const C = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"';

function serve(backend: string, root: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--workers', '1', '--backend', backend, '--root', root, '--host', '127.0.0.1', '--port', '0', '--log-level', 'error'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolveUp, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      const m = /at (https?:\/\/\S+?)\/\n/.exec(out);
      if (m) resolveUp({ child, url: m[1]! });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

/** SIGTERM, as a service manager stops it; resolves with the exit code. */
async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  return exited;
}

const event = (uid: string, ...props: string[]) => ics('BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20240101T000000Z', ...props, 'END:VEVENT');

/** name → body; `moved-in` and `moved-out` are rewritten while the server is down. */
const OBJECTS: Record<string, string> = {
  'march.ics': event('march', 'DTSTART:20240312T100000Z', 'DTEND:20240312T110000Z', 'SUMMARY:in March'),
  'may.ics': event('may', 'DTSTART:20240512T100000Z', 'DTEND:20240512T110000Z', 'SUMMARY:in May'),
  'weekly.ics': event('weekly', 'DTSTART:20240105T090000Z', 'DTEND:20240105T100000Z', 'RRULE:FREQ=WEEKLY;COUNT=20'),
  'endless.ics': event('endless', 'DTSTART:20200106T090000Z', 'DURATION:PT1H', 'RRULE:FREQ=MONTHLY;BYMONTHDAY=6'),
  'until.ics': event('until', 'DTSTART:20231201T090000Z', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;UNTIL=20240103T000000Z'),
  'all-day.ics': event('all-day', 'DTSTART;VALUE=DATE:20240310', 'DTEND;VALUE=DATE:20240311'),
  'floating.ics': event('floating', 'DTSTART:20240401T003000', 'DTEND:20240401T013000'),
  'moved-override.ics': ics(
    'BEGIN:VEVENT', 'UID:moved-override', 'DTSTAMP:20240101T000000Z', 'DTSTART:20240801T100000Z', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;COUNT=3', 'END:VEVENT',
    'BEGIN:VEVENT', 'UID:moved-override', 'DTSTAMP:20240101T000000Z', 'RECURRENCE-ID:20240802T100000Z', 'DTSTART:20240320T100000Z', 'DURATION:PT1H', 'END:VEVENT',
  ),
  'task.ics': ics('BEGIN:VTODO', 'UID:task', 'DTSTAMP:20240101T000000Z', 'DUE:20240315T100000Z', 'END:VTODO'),
  'moved-in.ics': event('moved-in', 'DTSTART:20240610T100000Z', 'DTEND:20240610T110000Z'),
  'moved-out.ics': event('moved-out', 'DTSTART:20240311T100000Z', 'DTEND:20240311T110000Z'),
};
// The same length, so the folder backend's rewrite keeps inode and size: only the mtime tells.
const CHANGED: Record<string, string> = {
  'moved-in.ics': OBJECTS['moved-in.ics']!.replace(/202406/g, '202403'),
  'moved-out.ics': OBJECTS['moved-out.ics']!.replace(/202403/g, '202407'),
};

/**
 * The hits and their <D:response> elements, sorted: byte for byte the same, in whatever order the
 * backend lists (a git process that wrote the tree lists in write order, a new one in tree order).
 */
async function query(url: string, start: string, end: string): Promise<{ names: string[]; text: string }> {
  const body = `<?xml version="1.0"?><C:calendar-query ${C}><D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="${start}" end="${end}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`;
  const r = await raw(url, CAL, { method: 'REPORT', headers: { Depth: '1', 'Content-Type': 'application/xml' }, body });
  assert.equal(r.status, 207, r.text);
  const names = [...r.text.matchAll(/<D:href>[^<]*\/([^/<]+)<\/D:href>/g)].map((m) => m[1]!).sort();
  const responses = r.text.split(/(?=<D:response>)/).slice(1).map((x) => x.replace(/<\/D:multistatus>\s*$/, ''));
  return { names, text: responses.sort().join('') };
}

const MARCH = ['20240301T000000Z', '20240401T000000Z'] as const;
const JANUARY = ['20240101T000000Z', '20240201T000000Z'] as const;

for (const backend of ['git', 'fs'] as const) {
  describe(`calendar-query after a restart, persisted object index (${backend} backend)`, function () {
    this.timeout(60_000);
    let dir: string;
    let root: string;
    let child: ChildProcess | undefined;
    const stateDir = () => (backend === 'git' ? join(root, 'gitdav') : join(root, '.gitdav'));
    const indexFile = () => join(stateDir(), 'caldav-index.json');

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'gitdav-restart-'));
      root = join(dir, 'data');
      if (backend === 'fs') await mkdir(root);
    });
    afterEach(async () => {
      if (child && child.exitCode === null) await stop(child);
      child = undefined;
    });
    after(() => rm(dir, { recursive: true, force: true }));

    let marchBefore: { names: string[]; text: string };
    let januaryBefore: { names: string[]; text: string };

    it('first run: the objects are stored, queried, and the index is saved', async () => {
      const s = await serve(backend, root);
      child = s.child;
      for (const [name, body] of Object.entries(OBJECTS)) {
        const r = await raw(s.url, CAL + name, { method: 'PUT', body, headers: { 'Content-Type': 'text/calendar' } });
        assert.equal(r.status, 201, `${name}: ${r.text}`);
      }
      marchBefore = await query(s.url, ...MARCH);
      januaryBefore = await query(s.url, ...JANUARY);
      assert.deepEqual(marchBefore.names, ['all-day.ics', 'endless.ics', 'march.ics', 'moved-out.ics', 'moved-override.ics', 'weekly.ics']);
      assert.deepEqual(januaryBefore.names, ['endless.ics', 'until.ics', 'weekly.ics']);
      for (let i = 0; i < 100 && !existsSync(indexFile()); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(existsSync(indexFile()), 'the index was written to the state dir');
    });

    it('a new process answers byte for byte as before', async () => {
      const s = await serve(backend, root);
      child = s.child;
      assert.equal((await query(s.url, ...MARCH)).text, marchBefore.text);
      assert.equal((await query(s.url, ...JANUARY)).text, januaryBefore.text);
    });

    it('objects changed while it was down are judged by their new content', async () => {
      if (backend === 'git') {
        // A native commit by another git client: new blobs, so new ETags the index has never seen.
        const parts = [`commit refs/heads/main\ncommitter t <t@localhost> ${Math.floor(Date.now() / 1000)} +0000\ndata 8\nrewrite\nfrom refs/heads/main^0\n`];
        for (const [name, body] of Object.entries(CHANGED)) parts.push(`M 100644 inline calendars/user/calendar/${name}\ndata ${Buffer.byteLength(body)}\n${body}\n`);
        const r = spawnSync('git', ['--git-dir', root, 'fast-import', '--quiet'], { input: parts.join('') });
        assert.equal(r.status, 0, String(r.stderr));
      } else {
        // Rewritten in place by another program: same inode, same size, a later mtime.
        for (const [name, body] of Object.entries(CHANGED)) await writeFile(join(root, 'calendars/user/calendar', name), body);
      }
      const s = await serve(backend, root);
      child = s.child;
      const march = await query(s.url, ...MARCH);
      assert.deepEqual(march.names, ['all-day.ics', 'endless.ics', 'march.ics', 'moved-in.ics', 'moved-override.ics', 'weekly.ics']);
      assert.equal((await query(s.url, ...JANUARY)).text, januaryBefore.text);
      assert.deepEqual((await query(s.url, '20240701T000000Z', '20240801T000000Z')).names, ['endless.ics', 'moved-out.ics']);
    });

    it('a corrupt or truncated index file is ignored, never believed', async () => {
      for (const garbage of ['{"format":"gitdav-caldav-index/1","sha1":"', '\0\0\0', '{"format":"gitdav-caldav-index/1","sha1":"0000000000000000000000000000000000000000","entries":[]}\n']) {
        await writeFile(indexFile(), garbage);
        const s = await serve(backend, root);
        child = s.child;
        assert.deepEqual((await query(s.url, ...MARCH)).names, ['all-day.ics', 'endless.ics', 'march.ics', 'moved-in.ics', 'moved-override.ics', 'weekly.ics']);
        await stop(s.child);
      }
    });
  });
}

for (const backend of ['git', 'fs'] as const) {
  describe(`SIGTERM saves the object index (${backend} backend)`, function () {
    this.timeout(60_000);
    let dir: string;
    let child: ChildProcess | undefined;
    afterEach(async () => {
      if (child && child.exitCode === null) await stop(child);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('entries recorded just before the shutdown are in the file after it', async () => {
      dir = await mkdtemp(join(tmpdir(), 'gitdav-sigterm-'));
      const root = join(dir, 'data');
      if (backend === 'fs') await mkdir(root);
      const s = await serve(backend, root);
      child = s.child;
      for (const name of ['march.ics', 'may.ics', 'weekly.ics', 'task.ics']) {
        const r = await raw(s.url, CAL + name, { method: 'PUT', body: OBJECTS[name]!, headers: { 'Content-Type': 'text/calendar' } });
        assert.equal(r.status, 201, `${name}: ${r.text}`);
      }
      const listing = await raw(s.url, CAL, { method: 'PROPFIND', headers: { Depth: '1', 'Content-Type': 'application/xml' }, body: propfindBody('getetag') });
      const etags = [...listing.text.matchAll(/<D:getetag>([^<]+)<\/D:getetag>/g)].map((m) => m[1]!.replace(/&quot;/g, '"'));
      // The calendar's own ETag and its four members'.
      assert.equal(etags.length, 5, listing.text);
      // Every object is parsed and its summary recorded now, far less than the timed save's delay
      // (2 s) before the SIGTERM: only the shutdown can have written these entries.
      assert.deepEqual((await query(s.url, ...MARCH)).names, ['march.ics', 'weekly.ics']);
      assert.equal(await stop(s.child), 0, 'a clean exit');
      const stateDir = backend === 'git' ? join(root, 'gitdav') : join(root, '.gitdav');
      const rows = parseIndex(await readFile(join(stateDir, 'caldav-index.json'), 'utf8'));
      assert.ok(rows, 'a whole index file');
      const saved = new Set(rows.map((row) => row[0]));
      assert.equal(etags.filter((e) => saved.has(e)).length, 4, `saved ${[...saved].join(' ')}; listed ${etags.join(' ')}`);
    });
  });
}
