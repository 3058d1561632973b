/**
 * The git backend's write journal across the workers of a real `gitdav serve --workers 2`, with a
 * burst window no test waits for (nothing is committed while the test runs): every write is seen at
 * once by the other worker (GET, DELETE then 404, a PROPFIND listing, a CalDAV sync-collection right
 * after a PUT), and a clean stop commits it all, each journal record once.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { tool } from '../helpers/tools.js';
import { http, serveWorkers, workersThatServed, stopAfterEach, type Served } from './helpers.js';

const oneEach = new Agent({ keepAlive: false }); // a new connection per request: both workers serve

function event(uid: string): string {
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20240101T000000Z', 'DTSTART:20240310T100000Z', 'DURATION:PT1H', `SUMMARY:${uid}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

const SYNC = (token: string) =>
  `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>${token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`;

describe('gitdav serve --workers 2 on the git write journal', function () {
  this.timeout(180_000);
  let s: Served | undefined;
  stopAfterEach(() => s, () => (s = undefined));

  it('every write is seen at once through the other worker, and committed once at a clean stop', async () => {
    const root = join(await mkdtemp(join(tmpdir(), 'gitdav-jw-')), 'data');
    s = await serveWorkers(['--root', root, '--backend', 'git', '--workers', '2', '--burst-window-ms', '600000', '--burst-max-age-ms', '600000']);
    const req = (path: string, method = 'GET', body?: string, headers: Record<string, string> = {}) => http(s!.url, path, { method, body, headers, agent: oneEach });
    for (let i = 0; i < 8; i++) {
      const path = `/f-${i}.txt`;
      assert.equal((await req(path, 'PUT', `file ${i}`)).status, 201);
      for (let k = 0; k < 2; k++) assert.equal((await req(path)).body.toString(), `file ${i}`, `GET ${path} #${k}`);
      assert.equal((await req(path, 'DELETE')).status, 204);
      for (let k = 0; k < 2; k++) assert.equal((await req(path)).status, 404, `GET ${path} after DELETE #${k}`);
      assert.equal((await req(`/keep-${i}.txt`, 'PUT', `keep ${i}`)).status, 201);
      const listing = (await req('/', 'PROPFIND', undefined, { Depth: '1' })).body.toString();
      assert.match(listing, new RegExp(`/keep-${i}\\.txt<`));
      assert.doesNotMatch(listing, new RegExp(`/f-${i}\\.txt<`));
    }
    // CalDAV: a PUT, then at once a sync-collection from the token before it, through either worker.
    const cal = '/calendars/user/calendar/';
    assert.equal((await req(cal + 'warm.ics', 'PUT', event('warm'), { 'Content-Type': 'text/calendar' })).status, 201);
    for (let i = 0; i < 4; i++) {
      const tokenRes = (await req(cal, 'PROPFIND', '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>', { Depth: '0' })).body.toString();
      const token = /<D:sync-token>([^<]+)</i.exec(tokenRes)?.[1] ?? /sync-token>([^<]+)</.exec(tokenRes)?.[1];
      assert.ok(token, tokenRes);
      assert.equal((await req(`${cal}e-${i}.ics`, 'PUT', event(`e-${i}`), { 'Content-Type': 'text/calendar' })).status, 201);
      const report = await req(cal, 'REPORT', SYNC(token!), { 'Content-Type': 'application/xml', Depth: '1' });
      assert.equal(report.status, 207, report.body.toString());
      assert.match(report.body.toString(), new RegExp(`e-${i}\\.ics`), `sync-collection after PUT ${i}`);
    }
    assert.deepEqual([...workersThatServed(s.records())].sort(), [1, 2]);
    // The CalDAV setup's folders (another user's burst) may be committed; none of the test's writes is.
    assert.doesNotMatch((await tool('git', ['--git-dir', root, 'ls-tree', '-r', '--name-only', 'main'])).stdout, /keep-|\.ics/, 'nothing of the test committed while it ran');
    await s.stop(); // SIGTERM: each worker closes its repository, committing what is in the journal
    s = undefined;
    const files = (await tool('git', ['--git-dir', root, 'ls-tree', '-r', '--name-only', 'main'])).stdout;
    for (let i = 0; i < 8; i++) {
      assert.match(files, new RegExp(`^keep-${i}\\.txt$`, 'm'));
      assert.doesNotMatch(files, new RegExp(`^f-${i}\\.txt$`, 'm'));
    }
    const seqs = (await tool('git', ['--git-dir', root, 'log', '--format=%(trailers:key=Gitdav-Journal,valueonly)', 'main'])).stdout.split('\n').filter(Boolean);
    assert.equal(new Set(seqs).size, seqs.length, 'each record committed once');
    assert.equal((await tool('git', ['--git-dir', root, 'fsck', '--strict', '--no-progress'])).code, 0);
  });
});
