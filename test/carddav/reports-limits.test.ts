/**
 * CardDAV REPORTs' bounds over HTTP on both backends: a multiget answers each distinct href once
 * (one big card named a thousand times is one response, and the server's peak memory does not grow
 * by the copies), only the book's direct members (deeper or outside: 404), answers stop at
 * limits.maxReportBytes with a 507; and cards 3.0 cannot hold exactly (review15-reports M1): sent as
 * 3.0 without the property when no version is asked, that card's own 403
 * supported-address-data-conversion when 3.0 is asked explicitly (multiget, query, sync-collection).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { raw, startTestServer, XML, type TestServer } from '../helpers/server.js';
import { forEachBackend } from '../helpers/backends.js';
import { elements, parseXml, textOf, type XmlElement } from '../../lib/dav/xml/parse.js';

const BOOK = '/addressbooks/user/contacts/';
const NSS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"';
const vcf = (...lines: string[]) => lines.join('\r\n') + '\r\n';
const fold = (line: string) => line.match(/.{1,74}/g)!.join('\r\n ');

/** A 3.0 card with an inline photo of about `kib` KiB (base64). */
const bigCard = (uid: string, kib: number) => vcf('BEGIN:VCARD', 'VERSION:3.0', `UID:${uid}`, `FN:Big ${uid}`, 'N:Big;;;;', fold(`PHOTO;ENCODING=b;TYPE=JPEG:${Buffer.alloc(kib * 768, uid).toString('base64')}`), 'END:VCARD');
/** A 4.0 card whose PHOTO is a data: URI that is not base64: vCard 3.0 cannot hold it (convert.ts). */
const SVG = vcf('BEGIN:VCARD', 'VERSION:4.0', 'UID:svg-1', 'FN:Svg Person', 'EMAIL:svg@example.org', 'PHOTO:data:image/svg+xml,%3Csvg%3E%3C/svg%3E', 'END:VCARD');
const PLAIN = vcf('BEGIN:VCARD', 'VERSION:4.0', 'UID:plain-1', 'FN:Plain Person', 'END:VCARD');

interface Answer {
  href: string;
  status?: string;
  error?: XmlElement;
  data?: string;
}

function answers(text: string): Answer[] {
  return elements(parseXml(text)).filter((e) => e.local === 'response').map((resp) => {
    const kids = elements(resp);
    const status = kids.find((k) => k.local === 'status');
    let data: string | undefined;
    for (const ps of kids.filter((k) => k.local === 'propstat')) {
      const ok = textOf(elements(ps).find((e) => e.local === 'status')!).includes('200');
      const ad = elements(elements(ps).find((e) => e.local === 'prop')!).find((p) => p.local === 'address-data');
      if (ok && ad) data = textOf(ad);
    }
    return { href: decodeURIComponent(textOf(kids.find((k) => k.local === 'href')!)), status: status && textOf(status), error: kids.find((k) => k.local === 'error'), data };
  });
}

/** This process's peak resident memory (the server runs in it), in KiB. */
const peakKib = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);

forEachBackend((backend) => {
  describe(`CardDAV REPORT bounds (${backend} backend)`, function () {
    this.timeout(120_000);
    let s: TestServer;
    const report = (path: string, body: string, depth?: string) => raw(s.url, path, { method: 'REPORT', headers: { ...XML, ...(depth ? { Depth: depth } : {}) }, body });
    const multiget = (inner: string) => report(BOOK, `<?xml version="1.0"?><C:addressbook-multiget ${NSS}>${inner}</C:addressbook-multiget>`);
    const put = (path: string, body: string) => raw(s.url, path, { method: 'PUT', body, headers: { 'Content-Type': 'text/vcard; charset=utf-8' } });

    before(async () => {
      // A byte budget of 2.5 big cards; counts are far from maxReportResults.
      s = await startTestServer({ backend, caldav: true, dav: { limits: { maxReportBytes: 2_600_000 } as never } });
      for (const uid of ['b1', 'b2', 'b3', 'b4']) assert.equal((await put(`${BOOK}${uid}.vcf`, bigCard(uid, 1024))).status, 201, uid);
      assert.equal((await put(`${BOOK}svg.vcf`, SVG)).status, 201);
      assert.equal((await put(`${BOOK}plain.vcf`, PLAIN)).status, 201);
    });
    after(() => s.close());

    it('a multiget naming one big card 1,000 times (three spellings) answers it once, without the copies in memory', async () => {
      const spellings = [`${BOOK}b1.vcf`, `${s.url}${BOOK}b1.vcf`, `${BOOK}%62%31.vcf`];
      const hrefs = Array.from({ length: 1000 }, (_, i) => `<D:href>${spellings[i % 3]}</D:href>`).join('');
      const before = peakKib();
      const r = await multiget(`<D:prop><D:getetag/><C:address-data/></D:prop>${hrefs}<D:href>${BOOK}nothing.vcf</D:href><D:href>${BOOK}nothing.vcf</D:href>`);
      assert.equal(r.status, 207, r.text.slice(0, 500));
      const as = answers(r.text);
      assert.deepEqual(as.map((a) => a.href), [`${BOOK}b1.vcf`, `${BOOK}nothing.vcf`]);
      assert.match(as[0]!.data!, /UID:b1/);
      assert.match(as[1]!.status!, /404/);
      assert.ok(r.body.length < 2 * 1024 * 1024, `${r.body.length} bytes`);
      // 1,000 copies of a 1 MiB response would be a gigabyte held at once.
      assert.ok(peakKib() - before < 300 * 1024, `peak grew by ${peakKib() - before} KiB`);
    });

    it('a multiget answers only the book\'s direct members: deeper and outside hrefs are 404', async () => {
      assert.equal((await raw(s.url, `${BOOK}sub/`, { method: 'MKCOL' })).status, 201);
      assert.equal((await put(`${BOOK}sub/x.vcf`, PLAIN.replace('plain-1', 'x-1'))).status, 201);
      assert.equal((await raw(s.url, '/elsewhere/', { method: 'MKCOL' })).status, 201);
      assert.equal((await put('/elsewhere/y.vcf', PLAIN)).status, 201);
      const r = await multiget(`<D:prop><D:getetag/></D:prop><D:href>${BOOK}sub/x.vcf</D:href><D:href>/elsewhere/y.vcf</D:href><D:href>${BOOK}plain.vcf</D:href><D:href>${BOOK}sub/</D:href>`);
      assert.equal(r.status, 207);
      assert.deepEqual(answers(r.text).map((a) => [a.href, /404/.test(a.status ?? '')]), [
        [`${BOOK}sub/x.vcf`, true],
        ['/elsewhere/y.vcf', true],
        [`${BOOK}plain.vcf`, false],
        [`${BOOK}sub/`, true],
      ]);
      assert.equal((await raw(s.url, `${BOOK}sub/`, { method: 'DELETE' })).status, 204);
    });

    it('a multiget past limits.maxReportBytes ends with a 507 number-of-matches-within-limits', async () => {
      const r = await multiget(`<D:prop><C:address-data/></D:prop>${['b1', 'b2', 'b3', 'b4'].map((u) => `<D:href>${BOOK}${u}.vcf</D:href>`).join('')}`);
      assert.equal(r.status, 207);
      const as = answers(r.text);
      assert.deepEqual(as.map((a) => a.href), [`${BOOK}b1.vcf`, `${BOOK}b2.vcf`, BOOK]);
      assert.match(as[2]!.status!, /507/);
      assert.equal(as[2]!.error && elements(as[2]!.error)[0]!.local, 'number-of-matches-within-limits');
    });

    it('an addressbook-query past limits.maxReportBytes ends with a 507 too; within it, every card', async () => {
      const q = (prop: string) => report(BOOK, `<?xml version="1.0"?><C:addressbook-query ${NSS}><D:prop>${prop}</D:prop></C:addressbook-query>`, '1');
      const cut = answers((await q('<C:address-data/>')).text);
      assert.equal(cut.filter((a) => /UID:b\d/.test(a.data ?? '')).length, 2); // the budget holds two big cards, not three
      assert.equal(cut.at(-1)!.href, BOOK);
      assert.match(cut.at(-1)!.status!, /507/);
      const small = answers((await q('<D:getetag/>')).text);
      assert.equal(small.length, 6);
      assert.ok(small.every((a) => !a.status));
    });

    it('a 4.0 card 3.0 cannot hold exactly, asked without a version: 3.0 without that PHOTO, never 4.0', async () => {
      const r = await multiget(`<D:prop><D:getetag/><C:address-data/></D:prop><D:href>${BOOK}svg.vcf</D:href>`);
      const [a] = answers(r.text);
      assert.match(a!.data!, /VERSION:3\.0/);
      assert.match(a!.data!, /FN:Svg Person/);
      assert.match(a!.data!, /EMAIL/);
      assert.doesNotMatch(a!.data!, /PHOTO|VERSION:4\.0/);
      // The same again (kept bytes on a plain request) and with CARDDAV:prop asked.
      assert.equal(answers((await multiget(`<D:prop><D:getetag/><C:address-data/></D:prop><D:href>${BOOK}svg.vcf</D:href>`)).text)[0]!.data, a!.data);
      const some = answers((await multiget(`<D:prop><C:address-data><C:prop name="FN"/><C:prop name="PHOTO"/></C:address-data></D:prop><D:href>${BOOK}svg.vcf</D:href>`)).text)[0]!;
      assert.match(some.data!, /VERSION:3\.0[\s\S]*FN:Svg Person/);
      assert.doesNotMatch(some.data!, /PHOTO/);
    });

    const refusedAlone = (as: Answer[]) => {
      const svg = as.find((a) => a.href.endsWith('svg.vcf'))!;
      assert.match(svg.status!, /403/);
      assert.equal(svg.error && `${elements(svg.error)[0]!.ns} ${elements(svg.error)[0]!.local}`, 'urn:ietf:params:xml:ns:carddav supported-address-data-conversion');
      const plain = as.find((a) => a.href.endsWith('plain.vcf'))!;
      assert.match(plain.data!, /VERSION:3\.0[\s\S]*UID:plain-1/);
    };

    it('version="3.0" asked of that card: its own response is a 403 supported-address-data-conversion, the others answered (multiget, query)', async () => {
      const ask = '<C:address-data content-type="text/vcard" version="3.0"/>';
      const r = await multiget(`<D:prop><D:getetag/>${ask}</D:prop><D:href>${BOOK}svg.vcf</D:href><D:href>${BOOK}plain.vcf</D:href>`);
      assert.equal(r.status, 207);
      refusedAlone(answers(r.text));
      const q = await report(BOOK, `<?xml version="1.0"?><C:addressbook-query ${NSS}><D:prop>${ask}</D:prop><C:filter><C:prop-filter name="UID"><C:text-match match-type="contains">-1</C:text-match></C:prop-filter></C:filter></C:addressbook-query>`, '1');
      assert.equal(q.status, 207);
      refusedAlone(answers(q.text));
      // 4.0 asked: the card as stored.
      const four = answers((await multiget(`<D:prop><C:address-data version="4.0"/></D:prop><D:href>${BOOK}svg.vcf</D:href>`)).text)[0]!;
      assert.match(four.data!, /PHOTO:data:image\/svg\+xml/);
    });

    it('version="3.0" through sync-collection: that card 403, the others answered, a token at the end', async () => {
      const r = await report(BOOK, `<?xml version="1.0"?><D:sync-collection ${NSS}><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/><C:address-data version="3.0"/></D:prop></D:sync-collection>`);
      assert.equal(r.status, 207);
      refusedAlone(answers(r.text));
      assert.match(r.text, /sync-token>[^<]+</);
    });
  });
});
