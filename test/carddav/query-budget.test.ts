/**
 * A hostile addressbook-query is bounded by the request's step budget (limits.maxCalendarSteps, shared
 * with CalDAV), not by time: hundreds of text-matches over a big non-ASCII card end in a 507
 * DAV:number-of-matches-within-limits after bounded work, while other requests are still answered;
 * the same card under an ordinary query is evaluated and answered as usual.
 */
import assert from 'node:assert/strict';
import { raw, startTestServer, XML, type TestServer } from '../helpers/server.js';
import { forEachBackend } from '../helpers/backends.js';
import { elements, parseXml, textOf } from '../../lib/dav/xml/parse.js';

const BOOK = '/addressbooks/user/contacts/';
const NSS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"';
const vcard = (uid: string, fn: string, ...lines: string[]) => ['BEGIN:VCARD', 'VERSION:3.0', `UID:${uid}`, `FN:${fn}`, ...lines, 'END:VCARD', ''].join('\r\n');
// ~4.4 MB of UTF-8: one fold of it fits the default budget, 498 scans of it do not.
const BIG = vcard('big', 'Zoë Ærø', `NOTE:${'Zoë Ærø '.repeat(400_000)}`);
const query = (filter: string) => `<?xml version="1.0" encoding="utf-8"?><C:addressbook-query ${NSS}><D:prop><D:getetag/></D:prop><C:filter>${filter}</C:filter></C:addressbook-query>`;
const HOSTILE = query(`<C:prop-filter name="NOTE">${Array.from({ length: 498 }, (_, i) => `<C:text-match>nomatch${i}</C:text-match>`).join('')}</C:prop-filter>`);

/** The hrefs a 207 names as found, and the statuses it reports. */
function multistatus(text: string): { hrefs: string[]; statuses: string[] } {
  const out = { hrefs: [] as string[], statuses: [] as string[] };
  for (const resp of elements(parseXml(text)).filter((e) => e.local === 'response')) {
    const href = textOf(elements(resp).find((c) => c.local === 'href')!);
    const status = elements(resp).find((c) => c.local === 'status');
    if (status) out.statuses.push(textOf(status));
    else out.hrefs.push(href);
  }
  return out;
}

forEachBackend((backend) => {
  describe(`addressbook-query cost is bounded by the step budget (${backend} backend)`, function () {
    this.timeout(120_000);
    let s: TestServer;
    const report = (body: string) => raw(s.url, BOOK, { method: 'REPORT', headers: { ...XML, Depth: '1' }, body });

    before(async () => {
      s = await startTestServer({ backend, caldav: true });
      for (const [name, body] of [['ada.vcf', vcard('ada', 'Ada Lovelace', 'EMAIL:ada@example.org')], ['big.vcf', BIG]] as const) {
        const r = await raw(s.url, BOOK + name, { method: 'PUT', body, headers: { 'Content-Type': 'text/vcard; charset=utf-8' } });
        assert.equal(r.status, 201, `${name}: ${r.text}`);
      }
    });
    after(() => s.close());

    it('498 text-matches over a 4 MB non-ASCII card: 507 number-of-matches-within-limits, and a concurrent GET is answered', async () => {
      const [q, get] = await Promise.all([report(HOSTILE), raw(s.url, `${BOOK}ada.vcf`)]);
      assert.equal(get.status, 200);
      assert.match(get.text, /FN:Ada Lovelace/);
      if (q.status === 207) assert.ok(multistatus(q.text).statuses.some((st) => / 507 /.test(st)), q.text.slice(0, 500));
      else assert.equal(q.status, 507, q.text.slice(0, 500));
      assert.match(q.text, /number-of-matches-within-limits/);
    });

    it('the same card under ordinary queries is evaluated as usual', async () => {
      const fn = multistatus((await report(query('<C:prop-filter name="FN"><C:text-match>zoë</C:text-match></C:prop-filter>'))).text);
      assert.deepEqual(fn, { hrefs: [`${BOOK}big.vcf`], statuses: [] });
      const note = multistatus((await report(query('<C:prop-filter name="NOTE"><C:text-match>ærø zoë</C:text-match><C:text-match>nomatch</C:text-match></C:prop-filter>'))).text);
      assert.deepEqual(note, { hrefs: [`${BOOK}big.vcf`], statuses: [] });
    });
  });
});
