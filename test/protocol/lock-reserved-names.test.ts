/**
 * A LOCK on an unmapped URL creates an empty resource (RFC 4918 §7.3): at a name reserved for shares
 * (OWNER~NAME directly in a calendar or address book home, lib/tenants/share-names.ts) it is refused
 * with the same 403 as PUT and MKCOL, and nothing is made. Both backends, multi-user server.
 */
import assert from 'node:assert/strict';
import { basic, raw, startTestServer, XML, type BackendName } from '../helpers/server.js';

const BOB = basic('bob', 'bob-secret!');
const USERS = { alice: 'alice-secret', bob: 'bob-secret!' };
const LOCK = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>bob</D:owner></D:lockinfo>';

describe('LOCK at a reserved OWNER~NAME in a calendar or address book home', function () {
  this.timeout(30_000);
  for (const backend of ['fs', 'git'] as BackendName[]) {
    it(`${backend} backend: 403 with why, nothing made; elsewhere a lock-null resource is still made`, async () => {
      const s = await startTestServer({ backend, users: USERS });
      const as = (method: string, path: string, body?: string) => raw(s.url, path, { method, body, headers: { ...BOB, ...XML, Depth: '0' } });
      try {
        for (const path of ['/calendars/bob/carol~cal', '/addressbooks/bob/carol~family']) {
          const r = await as('LOCK', path, LOCK);
          assert.equal(r.status, 403, `${path}: ${r.text}`);
          assert.match(r.text, /is reserved: a name with ~ directly in a calendar or address book home is where shares appear \(OWNER~NAME\)/);
          assert.equal((await as('PROPFIND', path)).status, 404, `nothing made at ${path}`);
        }
        assert.equal((await as('LOCK', '/calendars/bob/calendar/x~y.ics', LOCK)).status, 201, 'deeper down ~ is an ordinary character');
      } finally {
        await s.close();
      }
    });
  }
});
