/**
 * The ResponseWriter (lib/dav/response-writer.ts) against the generic path it replaced (propResponse,
 * forced by propfindPath.generic): the same PROPFIND, asked both ways of the same server, must get the
 * same 207 body, for every kind of request — bench props, allprop, allprop with include, propname,
 * Brief, a stored displayname, dead properties, CalDAV collections, history, shares and locks.
 */
import assert from 'node:assert/strict';
import { propfindPath } from '../../lib/dav/methods/propfind.js';
import { basic, lockBody, raw, startTestServer, XML, type BackendName, type TestServer } from '../helpers/server.js';
import type { Share } from '../../lib/auth/shares-file.js';

const ALICE = basic('alice', 'alice-secret');
const BOB = basic('bob', 'bob-secret!');
const SHARES: Share[] = [
  { owner: 'alice', path: '/docs', grantee: 'bob', access: 'write' },
  { owner: 'alice', path: '/calendars/alice/calendar', grantee: 'bob', access: 'write' },
];
const NAMES = ['a&b.txt', 'l<t>.txt', 'pct%20.txt', 'sp ace.txt', 'ünï.txt', "it's.txt", 'x"y.txt', 'plus+.txt', 'semi;co=l:@$,.txt', 'plain.txt', 'e\u0301.txt'];
const ICS = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', 'UID:ev1', 'DTSTAMP:20240101T000000Z', 'DTSTART:20240101T100000Z', 'SUMMARY:x', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/');
const patch = (inner: string) =>
  `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z" xmlns:W="urn:schemas-microsoft-com:"><D:set><D:prop>${inner}</D:prop></D:set></D:propertyupdate>`;
const pf = (inner: string) =>
  `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/" xmlns:Z="urn:z">${inner}</D:propfind>`;
const BODIES: Record<string, string> = {
  bench: pf('<D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/><D:getcontenttype/></D:prop>'),
  allprop: pf('<D:allprop/>'),
  propname: pf('<D:propname/>'),
  include: pf('<D:allprop/><D:include><D:supported-report-set/><Z:nope/><D:displayname/><CS:getctag/></D:include>'),
  prop: pf('<D:prop><D:displayname/><D:getcontenttype/><D:lockdiscovery/><D:resourcetype/><Z:color/><Z:nope/><CS:getctag/><D:getcontentlength/><D:creationdate/><D:supportedlock/><D:getetag/><D:quota-used-bytes/><D:checked-in/></D:prop>'),
  unknown: pf('<D:prop><Z:nope/></D:prop>'),
};
/**
 * The responses, each on its own: lock timeouts count down and free disk space (quota) moves between
 * the two asks (other processes write to the disk); nothing else may differ, not even the order.
 */
const normal = (text: string) => text.replace(/Second-\d+/g, 'Second-N').replace(/(quota-(?:available|used)-bytes>)\d+</g, '$1N<').split('<D:response>');

for (const backend of ['fs', 'git'] as BackendName[]) describe(`PROPFIND: the response writer answers as the generic path (${backend})`, function () {
  this.timeout(60_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend, users: { alice: 'alice-secret', bob: 'bob-secret!' }, shares: SHARES });
    const as = (path: string, method: string, headers: Record<string, string> = {}, body?: string) => raw(s.url, enc(path), { method, headers: { ...ALICE, ...headers }, body });
    for (const d of ['/docs', '/docs/sub', '/docs/d&<>ir', '/other', '/ln']) assert.equal((await as(d, 'MKCOL')).status, 201, d);
    for (const n of NAMES) assert.equal((await as(`/docs/${n}`, 'PUT', {}, 'x')).status, 201, n);
    await as('/docs/sub/f.txt', 'PUT', {}, 'y');
    assert.equal((await as('/docs/a&b.txt', 'PROPPATCH', XML, patch('<D:displayname>Shown &amp; &lt;name&gt;</D:displayname><Z:color xml:lang="en">red &amp; blue</Z:color><x0:odd xmlns:x0="urn:odd">o</x0:odd>'))).status, 207);
    assert.equal((await as('/docs/sub', 'PROPPATCH', XML, patch('<D:displayname>Sub folder</D:displayname><Z:color>green</Z:color>'))).status, 207);
    assert.equal((await as('/docs/plain.txt', 'PROPPATCH', XML, patch('<W:Win32FileAttributes>00000020</W:Win32FileAttributes>'))).status, 207);
    assert.equal((await as('/calendars/alice/calendar/ev1.ics', 'PUT', { 'Content-Type': 'text/calendar' }, ICS)).status, 201);
    const lock = async (path: string, depth: string) => assert.equal((await as(path, 'LOCK', { ...XML, Depth: depth, Timeout: 'Second-3600' }, lockBody())).status < 300, true, path);
    await lock('/docs', '0');
    await lock('/docs/sub', 'infinity');
    await lock('/docs/plain.txt', '0');
    await lock('/ln/lock-null.txt', '0');
    await lock('/calendars/alice/calendar', '0');
  });
  after(() => {
    propfindPath.generic = false;
    return s.close();
  });

  const views: [string, Record<string, string>, string[]][] = [
    ['alice', ALICE, ['/', '/docs/', '/docs/sub/', '/docs/d&<>ir/', '/ln/', '/calendars/alice/', '/calendars/alice/calendar/', ...(backend === 'git' ? ['/.history/'] : [])]],
    ['bob', BOB, ['/', '/shared/', '/shared/alice/', '/shared/alice/docs/', '/calendars/bob/', '/calendars/bob/alice~calendar/']],
  ];
  for (const [user, who, paths] of views) {
    it(`${user}: every body, Depth 1 (and Brief, and Depth infinity on the shared folder)`, async () => {
      const cases: { path: string; body: string; headers: Record<string, string> }[] = [];
      for (const path of paths) {
        for (const body of Object.values(BODIES)) cases.push({ path, body, headers: { Depth: '1' } });
        for (const name of ['prop', 'unknown', 'bench']) cases.push({ path, body: BODIES[name]!, headers: { Depth: '1', Brief: 't' } });
      }
      cases.push({ path: user === 'alice' ? '/docs/' : '/shared/alice/docs/', body: BODIES.allprop!, headers: { Depth: 'infinity' } });
      for (const c of cases) {
        const ask = async (generic: boolean) => {
          propfindPath.generic = generic;
          try {
            return await raw(s.url, enc(c.path), { method: 'PROPFIND', headers: { ...who, ...XML, ...c.headers }, body: c.body });
          } finally {
            propfindPath.generic = false;
          }
        };
        const generic = await ask(true);
        const writer = await ask(false);
        const label = `${c.path} ${JSON.stringify(c.headers)} ${c.body.slice(150, 230)}`;
        assert.equal(writer.status, generic.status, label);
        assert.equal(generic.status, 207, label);
        assert.deepEqual(normal(writer.text), normal(generic.text), label);
      }
    });
  }
});
