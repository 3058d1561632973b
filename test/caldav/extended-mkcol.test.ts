/**
 * A calendar made by extended MKCOL is a calendar as MKCALENDAR makes it: refused inside another
 * calendar at any depth (calendar-collection-location-ok), named in history `Create calendar "…"`.
 */
import assert from 'node:assert/strict';
import { forEachBackend } from '../helpers/backends.js';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';
import { tool } from '../helpers/tools.js';

const body = (name: string) =>
  `<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype><D:displayname>${name}</D:displayname></D:prop></D:set></D:mkcol>`;
const mkcol = (s: TestServer, path: string, xml?: string) => raw(s.url, path, { method: 'MKCOL', headers: xml ? { 'Content-Type': 'application/xml' } : {}, body: xml });

forEachBackend((backend) =>
  describe(`CalDAV extended MKCOL of a calendar (${backend} backend)`, function () {
    this.timeout(30_000);
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ backend, caldav: true });
    });
    after(() => s.close());

    it('makes a calendar, named in history as MKCALENDAR names one', async () => {
      assert.equal((await mkcol(s, '/calendars/user/work/', body('Work'))).status, 201);
      const r = await raw(s.url, '/calendars/user/work/', { method: 'PROPFIND', headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>' });
      assert.match(r.text, /calendar xmlns="urn:ietf:params:xml:ns:caldav"|:calendar /);
      if (backend === 'git') assert.equal((await tool('git', ['--git-dir', s.root, 'log', '-1', '--format=%s'])).stdout.trim(), 'Create calendar "Work"');
    });

    it('refuses a calendar inside a calendar, directly or below a plain folder in it', async () => {
      for (const path of ['/calendars/user/work/inner/', '/calendars/user/work/folder/inner/']) {
        if (path.includes('folder')) assert.equal((await mkcol(s, '/calendars/user/work/folder/')).status, 201);
        const r = await mkcol(s, path, body('Inner'));
        assert.equal(r.status, 403, r.text);
        assert.match(r.text, /calendar-collection-location-ok/);
        assert.equal((await raw(s.url, path, { method: 'PROPFIND', headers: { Depth: '0' } })).status, 404);
      }
    });
  }),
);
