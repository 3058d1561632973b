/**
 * calendar-query's caches never answer stale, on a real `gitdav serve --workers 2`: the verdicts by
 * (ETag, query) (lib/caldav/state/match-cache.ts) and, on git, the members kept current through sync
 * with their interval index (lib/caldav/state/calendar-members.ts). Each query is asked four times
 * on new connections, so both workers answer it from what they kept; between them objects change by
 * PUT, DELETE and MOVE through either worker, by a native git commit (git), and by a file rewritten in
 * place (folders).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { http, serveWorkers, workersThatServed, stopAfterEach, type Served } from './helpers.js';

const oneEach = new Agent({ keepAlive: false });
const CAL = '/calendars/user/calendar/';

/** An event on day `day` of March 2024 (or of another month), always the same length for one uid. */
function event(uid: string, month: string, day: number): string {
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20240101T000000Z', `DTSTART:2024${month}${String(day).padStart(2, '0')}T100000Z`, 'DURATION:PT1H', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

const MARCH_QUERY = '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240301T000000Z" end="20240401T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>';

describe('gitdav serve --workers 2: calendar-query never answers from a stale cache', function () {
  this.timeout(180_000);
  let s: Served | undefined;
  stopAfterEach(() => s, () => (s = undefined));

  for (const backend of ['git', 'fs'] as const) {
    it(`after PUT, DELETE, MOVE through either worker and a change outside the server (${backend})`, async () => {
      const root = join(await mkdtemp(join(tmpdir(), 'gitdav-calq-')), 'data');
      s = await serveWorkers(['--root', root, '--backend', backend, '--workers', '2']);
      const url = s.url;
      const put = async (name: string, body: string) => {
        const r = await http(url, CAL + name, { method: 'PUT', body, headers: { 'Content-Type': 'text/calendar; charset=utf-8' }, agent: oneEach });
        assert.ok(r.status === 201 || r.status === 204, `PUT ${name}: ${r.status} ${r.body.toString()}`);
      };
      /** The March hits, asked four times (both workers answer): each answer must be `expected`. */
      const expectMarch = async (expected: string[], why: string) => {
        for (let i = 0; i < 4; i++) {
          const r = await http(url, CAL, { method: 'REPORT', body: MARCH_QUERY, headers: { Depth: '1', 'Content-Type': 'application/xml' }, agent: oneEach });
          assert.equal(r.status, 207, r.body.toString());
          const names = [...r.body.toString().matchAll(/<D:href>[^<]*\/([^/<]+\.ics)<\/D:href>/g)].map((m) => m[1]!).sort();
          assert.deepEqual(names, expected, `${why} (ask ${i + 1})`);
        }
      };
      await put('a.ics', event('a', '03', 10));
      await put('b.ics', event('b', '03', 12));
      await put('c.ics', event('c', '05', 12));
      await expectMarch(['a.ics', 'b.ics'], 'first');
      await put('b.ics', event('b', '05', 12)); // same length: moved out of March
      await put('d.ics', event('d', '03', 20));
      await expectMarch(['a.ics', 'd.ics'], 'after PUTs');
      assert.equal((await http(url, CAL + 'a.ics', { method: 'DELETE', agent: oneEach })).status, 204);
      await expectMarch(['d.ics'], 'after a DELETE');
      const moved = await http(url, CAL + 'd.ics', { method: 'MOVE', headers: { Destination: url + CAL + 'e.ics' }, agent: oneEach });
      assert.equal(moved.status, 201, moved.body.toString());
      await expectMarch(['e.ics'], 'after a MOVE');
      if (backend === 'git') {
        // Another git client's commit: the server reads the branch per request.
        const body = event('f', '03', 25);
        const c = event('c', '03', 2);
        const parts = `commit refs/heads/main\ncommitter t <t@localhost> ${Math.floor(Date.now() / 1000)} +0000\ndata 6\nnative\nfrom refs/heads/main^0\nM 100644 inline calendars/user/calendar/f.ics\ndata ${Buffer.byteLength(body)}\n${body}\nM 100644 inline calendars/user/calendar/c.ics\ndata ${Buffer.byteLength(c)}\n${c}\n`;
        const r = spawnSync('git', ['--git-dir', root, 'fast-import', '--quiet'], { input: parts });
        assert.equal(r.status, 0, String(r.stderr));
        await expectMarch(['c.ics', 'e.ics', 'f.ics'], 'after a native commit');
      } else {
        // Rewritten in place by another program: same inode and size, a later mtime.
        await new Promise((r) => setTimeout(r, 20));
        await writeFile(join(root, 'calendars/user/calendar/c.ics'), event('c', '03', 2));
        await expectMarch(['c.ics', 'e.ics'], 'after a file rewritten in place');
      }
      assert.deepEqual([...workersThatServed(s.records())].sort(), [1, 2]);
    });
  }
});
