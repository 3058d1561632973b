/** Shared by the CardDAV server tests: vCards to PUT, the precondition in an error body, what is stored. */
import assert from 'node:assert/strict';
import { elements, parseXml, textOf, type XmlElement } from '../../lib/dav/xml/parse.js';
import { tool } from '../helpers/tools.js';
import { raw, type BackendName, type RawResponse, type TestServer } from '../helpers/server.js';

export const CARDDAV = 'urn:ietf:params:xml:ns:carddav';
export const BOOK = '/addressbooks/user/contacts/';
export const NSS = `xmlns:D="DAV:" xmlns:C="${CARDDAV}" xmlns:CS="http://calendarserver.org/ns/"`;

/** A vCard with CRLF lines: `vcard('ada', 'Ada Lovelace')`, more lines before END. */
export function vcard(uid: string | null, fn: string, { version = '3.0', extra = [] as string[] } = {}): string {
  return ['BEGIN:VCARD', `VERSION:${version}`, ...(uid === null ? [] : [`UID:${uid}`]), `FN:${fn}`, ...extra, 'END:VCARD', ''].join('\r\n');
}

export function put(s: TestServer, path: string, body: string | Buffer, headers: Record<string, string | number> = { 'Content-Type': 'text/vcard; charset=utf-8' }): Promise<RawResponse> {
  return raw(s.url, path, { method: 'PUT', body, headers });
}

/** Asserts an error answer: its status and the precondition element of `ns` (CARDDAV by default) in DAV:error. */
export function assertPrecondition(r: RawResponse, status: number, name: string, ns = CARDDAV): void {
  assert.equal(r.status, status, r.text);
  const root = parseXml(r.text);
  assert.equal(`${root.ns} ${root.local}`, 'DAV: error', r.text);
  assert.ok(elements(root).some((e) => e.ns === ns && e.local === name), `${ns} ${name} in ${r.text}`);
}

/** What the client can see of a collection (member hrefs and ETags) and, on git, the newest commit. */
export async function snapshot(s: TestServer, backend: BackendName, path = BOOK): Promise<string> {
  const r = await raw(s.url, path, { method: 'PROPFIND', headers: { Depth: '1' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>' });
  assert.equal(r.status, 207, r.text);
  return r.text + (backend === 'git' ? await head(s) : '');
}

export async function head(s: TestServer): Promise<string> {
  return (await tool('git', ['--git-dir', s.root, 'log', '-1', '--format=%H %s'])).stdout.trim();
}

export async function subjects(s: TestServer, n: number): Promise<string[]> {
  return (await tool('git', ['--git-dir', s.root, 'log', `-${n}`, '--format=%s'])).stdout.trim().split('\n');
}

/** A multistatus as href → (Clark name → element) of its 200 propstats, and the names each 404'd. */
export function multistatus(text: string): Map<string, { ok: Map<string, XmlElement>; missing: string[]; firstStatus: string }> {
  const out = new Map<string, { ok: Map<string, XmlElement>; missing: string[]; firstStatus: string }>();
  for (const response of elements(parseXml(text))) {
    const href = textOf(elements(response).find((e) => e.local === 'href')!);
    const ok = new Map<string, XmlElement>();
    const missing: string[] = [];
    const stats = elements(response).filter((e) => e.local === 'propstat');
    for (const ps of stats) {
      const status = textOf(elements(ps).find((e) => e.local === 'status')!);
      for (const p of elements(elements(ps).find((e) => e.local === 'prop')!)) {
        if (/ 200 /.test(status)) ok.set(`{${p.ns}}${p.local}`, p);
        else missing.push(`{${p.ns}}${p.local}`);
      }
    }
    const first = stats[0] ? textOf(elements(stats[0]).find((e) => e.local === 'status')!) : '';
    out.set(href, { ok, missing, firstStatus: first });
  }
  return out;
}
