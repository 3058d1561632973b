/**
 * vCards for client tests: a small card builder, the cards in a local folder or a remote address
 * book keyed by UID, and the good contact fixtures (fixtures/contacts/<source>/*.vcf) when present.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES_DIR } from './fixtures.js';
import { raw, type RawRequest } from './server.js';

/** A vCard 3.0 (N and FN are required there) or 4.0, CRLF lines. */
export function vcard(uid: string, fn: string, options: { version?: '3.0' | '4.0'; extra?: string[] } = {}): string {
  const [given, ...rest] = fn.split(' ');
  return [
    'BEGIN:VCARD',
    `VERSION:${options.version ?? '3.0'}`,
    'PRODID:-//gitdav tests//clients//EN',
    `UID:${uid}`,
    `FN:${fn}`,
    `N:${rest.join(' ')};${given};;;`,
    ...(options.extra ?? []),
    'END:VCARD',
    '',
  ].join('\r\n');
}

export const uidOf = (text: string) => /^UID:(.*?)\r?$/m.exec(text)?.[1];
export const fnOf = (text: string) => /^FN(?:;[^:]*)?:(.*?)\r?$/m.exec(text)?.[1];

export interface CardFile {
  /** The local file, or the card's href on the server. */
  where: string;
  text: string;
}

/** UID → card of the .vcf files in a local folder (one vdirsyncer collection). */
export async function localCards(dir: string): Promise<Map<string, CardFile>> {
  const cards = new Map<string, CardFile>();
  for (const name of (await readdir(dir)).sort()) {
    if (!name.endsWith('.vcf')) continue;
    const text = await readFile(join(dir, name), 'utf8');
    const uid = uidOf(text);
    assert.ok(uid, `${name} has no UID`);
    assert.ok(!cards.has(uid), `two local files hold UID ${uid}`);
    cards.set(uid, { where: join(dir, name), text });
  }
  return cards;
}

/** UID → card of an address book on the server: PROPFIND Depth 1, then a GET of each member. */
export async function remoteCards(base: string, book: string, req: RawRequest = {}): Promise<Map<string, CardFile>> {
  const pf = await raw(base, book, {
    method: 'PROPFIND',
    headers: { ...req.headers, Depth: '1', 'Content-Type': 'application/xml' },
    body: '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>',
  });
  assert.equal(pf.status, 207, `PROPFIND ${book}: ${pf.text}`);
  const hrefs = [...pf.text.matchAll(/<(?:[\w-]+:)?href>([^<]*\.vcf)<\//g)].map((m) => m[1]!);
  const cards = new Map<string, CardFile>();
  for (const href of hrefs.sort()) {
    const g = await raw(base, href, { headers: req.headers });
    assert.equal(g.status, 200, `GET ${href}`);
    const uid = uidOf(g.text);
    assert.ok(uid, `${href} has no UID`);
    assert.ok(!cards.has(uid), `two cards on the server hold UID ${uid}`);
    cards.set(uid, { where: decodeURIComponent(href), text: g.text });
  }
  return cards;
}

export interface ContactFixture {
  /** Path below fixtures/contacts/, e.g. `apple/ada.vcf`. */
  name: string;
  text: string;
}

/** Every good contact fixture (each source folder; not bad/ nor edge/), or none before they exist. */
export function contactFixtures(): ContactFixture[] {
  const dir = join(FIXTURES_DIR, 'contacts');
  if (!existsSync(dir)) return [];
  const out: ContactFixture[] = [];
  for (const source of readdirSync(dir, { withFileTypes: true })) {
    if (!source.isDirectory() || source.name === 'bad' || source.name === 'edge') continue;
    for (const file of readdirSync(join(dir, source.name)).sort()) {
      if (file.endsWith('.vcf')) out.push({ name: `${source.name}/${file}`, text: readFileSync(join(dir, source.name, file), 'utf8') });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
