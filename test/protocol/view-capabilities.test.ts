/**
 * A git repository is served as a mount view (its history is mounted at /.history), so what the view
 * claims must be what the tree has: no quota properties where a repository has no quota, and no
 * "owner of this tree" for a user of a tree that belongs to nobody (found in review of issue 11).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockBody, raw, startTestServer } from '../helpers/server.js';
import { forEachBackend } from '../helpers/backends.js';
import { createApp, listen } from '../../lib/server.js';
import { ProxyHeaderAuthenticator } from '../../lib/auth/authenticator.js';
import { openBackend } from '../../lib/tenants.js';

const PROPNAME = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>';

forEachBackend((kind) =>
  describe(`what a served tree claims (${kind})`, () => {
    it(kind === 'git' ? 'PROPFIND propname lists no quota properties: a repository has none' : 'PROPFIND propname lists the quota properties', async () => {
      const s = await startTestServer({ backend: kind });
      try {
        const r = await raw(s.url, '/', { method: 'PROPFIND', headers: { Depth: '0', 'Content-Type': 'application/xml' }, body: PROPNAME });
        assert.equal(r.status, 207);
        assert.match(r.text, /sync-token/);
        if (kind === 'git') assert.doesNotMatch(r.text, /quota-(available|used)-bytes/);
        else assert.match(r.text, /quota-available-bytes/);
      } finally {
        await s.close();
      }
    });

    it('one tree for every logged-in user: nobody owns it, so nobody may UNLOCK another user\'s lock', async () => {
      const root = await mkdtemp(join(tmpdir(), 'gitdav-unlock-'));
      const app = await createApp({ backend: await openBackend(kind, root), auth: new ProxyHeaderAuthenticator('x-user', new Set(['127.0.0.1'])), caldav: false });
      const running = await listen(app, '127.0.0.1', 0);
      try {
        const as = (user: string, headers: Record<string, string> = {}) => ({ ...headers, 'x-user': user });
        assert.equal((await raw(running.url, '/f.txt', { method: 'PUT', body: 'x', headers: as('alice') })).status, 201);
        const lock = await raw(running.url, '/f.txt', { method: 'LOCK', body: lockBody(), headers: as('alice', { 'Content-Type': 'application/xml' }) });
        assert.equal(lock.status, 200);
        const token = String(lock.headers['lock-token']);
        assert.equal((await raw(running.url, '/f.txt', { method: 'UNLOCK', headers: as('bob', { 'Lock-Token': token }) })).status, 403);
        assert.equal((await raw(running.url, '/f.txt', { method: 'UNLOCK', headers: as('alice', { 'Lock-Token': token }) })).status, 204);
      } finally {
        await running.close();
        await rm(root, { recursive: true, force: true });
      }
    });
  }),
);
