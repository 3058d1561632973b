/**
 * What the PROPFIND members-cache tests share (test/protocol/propfind-cache*.test.ts): the bench's
 * properties, a multistatus read by href, and listings asked on fresh connections so that every
 * worker of a `--workers 2` server answers some of them.
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { propfindBody, raw, XML } from './server.js';
import { http } from '../workers/helpers.js';

export const PROPS = propfindBody('resourcetype', 'getcontentlength', 'getlastmodified', 'getetag', 'getcontenttype');

/** The responses of a multistatus body, by href. */
export function responses(xml: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of xml.matchAll(/<D:response><D:href>([^<]*)<\/D:href>(.*?)<\/D:response>/gs)) out.set(m[1]!, m[2]!);
  return out;
}

export interface ListingProbe {
  /** One request on a new connection; it must succeed (status < 300). */
  send(path: string, method: string, body?: string, headers?: Record<string, string>): ReturnType<typeof http>;
  /** Eight Depth-1 listings of `folder` on new connections (both workers answer); every one must satisfy `check`. */
  everywhere(check: (r: Map<string, string>) => void, what: string, body?: string | null): Promise<void>;
}

export function listingProbe(url: string, folder = '/d/'): ListingProbe {
  const fresh = () => new Agent({ keepAlive: false });
  return {
    async send(path, method, body, headers = {}) {
      const r = await http(url, path, { method, body, headers, agent: fresh() });
      assert.ok(r.status < 300, `${method} ${path}: ${r.status}`);
      return r;
    },
    async everywhere(check, what, body = PROPS) {
      for (let i = 0; i < 8; i++) {
        const r = await http(url, folder, { method: 'PROPFIND', body: body ?? undefined, headers: { ...XML, Depth: '1' }, agent: fresh() });
        assert.equal(r.status, 207);
        try {
          check(responses(r.body.toString()));
        } catch (err) {
          throw new Error(`${what}, listing ${i}: ${(err as Error).message}`);
        }
      }
    },
  };
}

/**
 * PUT, a rewrite, MOVE, COPY and DELETE in `/d/`, each followed by a listing (`props`, the folder's
 * responses by href) that must show it: the write sequence both backends' members-cache tests share.
 */
export async function writesShowIn(url: string, props: () => Promise<Map<string, string>>): Promise<void> {
    await raw(url, '/d/c.txt', { method: 'PUT', body: 'ccc' });
    assert.ok((await props()).has('/d/c.txt'));
    await raw(url, '/d/c.txt', { method: 'PUT', body: 'cccccc' });
    assert.match((await props()).get('/d/c.txt')!, /<D:getcontentlength>6</);
    await raw(url, '/d/c.txt', { method: 'MOVE', headers: { Destination: `${url}/d/e.txt` } });
    let p = await props();
    assert.ok(!p.has('/d/c.txt') && p.has('/d/e.txt'));
    await raw(url, '/d/e.txt', { method: 'COPY', headers: { Destination: `${url}/d/f.txt` } });
    assert.ok((await props()).has('/d/f.txt'));
    await raw(url, '/d/e.txt', { method: 'DELETE' });
    await raw(url, '/d/f.txt', { method: 'DELETE' });
    p = await props();
    assert.ok(!p.has('/d/e.txt') && !p.has('/d/f.txt'));
}
