/**
 * calendar-multiget and calendar-query write `calendar-data` from a text escaped once per ETag
 * (lib/caldav/state/object-cache.ts, `escaped`): on a real `gitdav serve --workers 2`, every answer
 * holds the object's current text after PUT, DELETE, MOVE through either worker and a change outside
 * the server (a native git commit; a file rewritten in place with the same size), and the metrics
 * show the kept copies were used (hits on `caldav_calendar_data_xml`).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { get, Agent } from 'node:http';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, serveWorkers, workersThatServed, stopAfterEach, type Served } from './helpers.js';

const oneEach = new Agent({ keepAlive: false });
const CAL = '/calendars/user/calendar/';

/** An event whose summary needs escaping in XML; `summary` keeps lengths equal when asked to. */
function event(uid: string, summary: string): string {
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20240101T000000Z', 'DTSTART:20240310T100000Z', 'DURATION:PT1H', `SUMMARY:${summary} & <co>`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

const multiget = (names: string[]) =>
  `<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>${names.map((n) => `<D:href>${CAL}${n}</D:href>`).join('')}</C:calendar-multiget>`;

const QUERY = '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240301T000000Z" end="20240401T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>';

const unescape = (s: string) => s.replace(/&#13;/g, '\r').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** name → calendar-data text (unescaped), or the status of a response without one. */
function answers(body: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [, r] of body.matchAll(/<D:response>([\s\S]*?)<\/D:response>/g)) {
    const name = /<D:href>[^<]*\/([^/<]+\.ics)<\/D:href>/.exec(r!)?.[1] ?? '?';
    const data = /<(\w+):calendar-data[^>]*>([\s\S]*?)<\/\1:calendar-data>/.exec(r!);
    out.set(name, data ? unescape(data[2]!) : (/HTTP\/1\.1 (\d{3})/.exec(r!)?.[1] ?? '?'));
  }
  return out;
}

function metric(metricsUrl: string, name: string, cache: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(metricsUrl, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => {
        // Per worker or summed (the supervisor's scrape): any line of the cache counts.
        const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`) && l.includes(`cache="${cache}"`));
        resolve(lines.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0));
      });
    }).on('error', reject);
  });
}

describe('gitdav serve --workers 2: calendar-data kept escaped by ETag is never stale', function () {
  this.timeout(180_000);
  let s: Served | undefined;
  stopAfterEach(() => s, () => (s = undefined));

  for (const backend of ['git', 'fs'] as const) {
    it(`multiget and query after PUT, DELETE, MOVE and a change outside the server (${backend})`, async () => {
      const root = join(await mkdtemp(join(tmpdir(), 'gitdav-calm-')), 'data');
      s = await serveWorkers(['--root', root, '--backend', backend, '--workers', '2', '--metrics-port', '0']);
      const url = s.url;
      const put = async (name: string, body: string) => {
        const r = await http(url, CAL + name, { method: 'PUT', body, headers: { 'Content-Type': 'text/calendar; charset=utf-8' }, agent: oneEach });
        assert.ok(r.status === 201 || r.status === 204, `PUT ${name}: ${r.status} ${r.body.toString()}`);
      };
      /** Multiget and query, each asked four times on new connections (both workers answer). */
      const expect = async (want: Record<string, string>, asked: string[], why: string) => {
        for (let i = 0; i < 4; i++) {
          const m = await http(url, CAL, { method: 'REPORT', body: multiget(asked), headers: { Depth: '0', 'Content-Type': 'application/xml' }, agent: oneEach });
          assert.equal(m.status, 207, m.body.toString());
          assert.deepEqual(Object.fromEntries(answers(m.body.toString())), want, `multiget ${why} (ask ${i + 1})`);
          const q = await http(url, CAL, { method: 'REPORT', body: QUERY, headers: { Depth: '1', 'Content-Type': 'application/xml' }, agent: oneEach });
          assert.equal(q.status, 207, q.body.toString());
          const found = Object.fromEntries([...answers(q.body.toString())].filter(([, v]) => v.startsWith('BEGIN:')));
          assert.deepEqual(found, Object.fromEntries(Object.entries(want).filter(([, v]) => v.startsWith('BEGIN:'))), `query ${why} (ask ${i + 1})`);
        }
      };
      await put('a.ics', event('a', 'one'));
      await put('b.ics', event('b', 'two'));
      await expect({ 'a.ics': event('a', 'one'), 'b.ics': event('b', 'two') }, ['a.ics', 'b.ics'], 'first');
      await put('a.ics', event('a', 'uno')); // same length
      await expect({ 'a.ics': event('a', 'uno'), 'b.ics': event('b', 'two') }, ['a.ics', 'b.ics'], 'after a PUT');
      assert.equal((await http(url, CAL + 'b.ics', { method: 'DELETE', agent: oneEach })).status, 204);
      await expect({ 'a.ics': event('a', 'uno'), 'b.ics': '404' }, ['a.ics', 'b.ics'], 'after a DELETE');
      const moved = await http(url, CAL + 'a.ics', { method: 'MOVE', headers: { Destination: url + CAL + 'c.ics' }, agent: oneEach });
      assert.equal(moved.status, 201, moved.body.toString());
      await expect({ 'a.ics': '404', 'c.ics': event('a', 'uno') }, ['a.ics', 'c.ics'], 'after a MOVE');
      if (backend === 'git') {
        const c = event('a', 'eins');
        const parts = `commit refs/heads/main\ncommitter t <t@localhost> ${Math.floor(Date.now() / 1000)} +0000\ndata 6\nnative\nfrom refs/heads/main^0\nM 100644 inline calendars/user/calendar/c.ics\ndata ${Buffer.byteLength(c)}\n${c}\n`;
        const r = spawnSync('git', ['--git-dir', root, 'fast-import', '--quiet'], { input: parts });
        assert.equal(r.status, 0, String(r.stderr));
        await expect({ 'c.ics': c }, ['c.ics'], 'after a native commit');
      } else {
        // Rewritten in place by another program: same inode and size, a later mtime.
        await new Promise((r) => setTimeout(r, 20));
        await writeFile(join(root, 'calendars/user/calendar/c.ics'), event('a', 'ein'));
        await expect({ 'c.ics': event('a', 'ein') }, ['c.ics'], 'after a file rewritten in place');
      }
      assert.deepEqual([...workersThatServed(s.records())].sort(), [1, 2]);
      const metricsUrl = /gitdav: metrics at (\S+)\n/.exec(s.output())![1]!;
      assert.ok((await metric(metricsUrl, 'gitdav_cache_hits_total', 'caldav_calendar_data_xml')) > 0, 'the escaped texts were reused');
    });
  }
});
