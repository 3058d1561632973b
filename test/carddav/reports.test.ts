/**
 * CardDAV REPORTs over HTTP on both backends (RFC 6352 §8.6, §8.7, §10.4; RFC 6578 for sync):
 * addressbook-query with and without a filter and with CARDDAV:limit, address-data whole or shaped,
 * addressbook-multiget with hrefs that name nothing or something that is not a card, sync-collection
 * asking address-data, and the errors with their precondition elements.
 */
import assert from 'node:assert/strict';
import { raw, startTestServer, XML, type TestServer } from '../helpers/server.js';
import { forEachBackend } from '../helpers/backends.js';
import { tool } from '../helpers/tools.js';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendName } from '../helpers/server.js';
import { elements, parseXml, textOf, type XmlElement } from '../../lib/dav/xml/parse.js';

const BOOK = '/addressbooks/user/contacts/';
const NSS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"';
const vcf = (...lines: string[]) => lines.join('\r\n') + '\r\n';

const ADA = vcf('BEGIN:VCARD', 'VERSION:3.0', 'UID:ada-1', 'FN:Ada Lovelace', 'N:Lovelace;Ada;;;', 'EMAIL;TYPE=INTERNET,HOME:ada@example.org', 'TEL;TYPE=CELL:+44 20 7946 0000', 'NOTE:Analytical engine\\, notes', 'END:VCARD');
const GRACE = vcf('BEGIN:VCARD', 'VERSION:3.0', 'UID:grace-1', 'FN:Grace Hopper', 'N:Hopper;Grace;;;', 'item1.EMAIL;TYPE=INTERNET:grace@navy.example', 'item1.X-ABLabel:work', 'END:VCARD');
const ZOE = vcf('BEGIN:VCARD', 'VERSION:4.0', 'UID:zoe-1', 'FN:Zoë Ærø', 'EMAIL;PREF=1:zoe@example.org', 'END:VCARD');
const CARDS: Record<string, string> = { 'ada.vcf': ADA, 'grace.vcf': GRACE, 'zoë.vcf': ZOE };
const NOT_A_CARD = 'just some notes\n';

interface Answer {
  href: string;
  status?: string;
  props: Map<string, { status: string; el: XmlElement }>;
  error?: XmlElement;
}

/** A 207's responses: each href with its properties (by local name) and their propstat's status. */
function answers(text: string): Answer[] {
  return elements(parseXml(text)).filter((e) => e.local === 'response').map((resp) => {
    const kids = elements(resp);
    const props = new Map<string, { status: string; el: XmlElement }>();
    for (const ps of kids.filter((k) => k.local === 'propstat')) {
      const status = textOf(elements(ps).find((e) => e.local === 'status')!);
      for (const p of elements(elements(ps).find((e) => e.local === 'prop')!)) props.set(p.local, { status, el: p });
    }
    const status = kids.find((k) => k.local === 'status');
    return { href: decodeURIComponent(textOf(kids.find((k) => k.local === 'href')!)), status: status && textOf(status), props, error: kids.find((k) => k.local === 'error') };
  });
}

/**
 * A file put into the address book behind the server's back (PUT refuses what is not a card): written
 * into the folder, or committed natively on git (the server reads the branch tip as it is).
 */
async function plant(s: TestServer, backend: BackendName, path: string, text: string): Promise<void> {
  if (backend === 'fs') return writeFile(join(s.root, path), text);
  const git = async (args: string[], input?: string, env?: NodeJS.ProcessEnv) => {
    const r = await tool('git', ['-C', s.root, ...args], { input, env: { ...process.env, ...env } });
    assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const branch = (await git(['symbolic-ref', 'HEAD'])).trim();
  const tip = await git(['rev-parse', branch]);
  const blob = await git(['hash-object', '-w', '--stdin'], text);
  const index = { GIT_INDEX_FILE: join(tmpdir(), `gitdav-plant-${process.pid}-${Date.now()}.index`) };
  await git(['read-tree', tip], undefined, index);
  await git(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], undefined, index);
  const tree = await git(['write-tree'], undefined, index);
  const commit = await git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit-tree', tree, '-p', tip, '-m', `plant ${path}`]);
  await git(['update-ref', branch, commit, tip]);
  await rm(index.GIT_INDEX_FILE, { force: true });
}

const names = (as: Answer[]) => as.filter((a) => !a.status).map((a) => a.href.split('/').pop()!).sort();
const dataOf = (a: Answer | undefined) => (a?.props.get('address-data')?.status.includes('200') ? textOf(a.props.get('address-data')!.el) : undefined);

/** The precondition element of an error body (RFC 4918 §16), as `{ns}local`. */
function condition(text: string): string {
  const root = parseXml(text);
  const first = elements(root)[0];
  return first ? `{${first.ns}}${first.local}` : '';
}

forEachBackend((backend) => {
  describe(`CardDAV REPORTs (${backend} backend)`, function () {
    this.timeout(60_000);
    let s: TestServer;
    const report = (path: string, body: string, depth?: string) => raw(s.url, path, { method: 'REPORT', headers: { ...XML, ...(depth ? { Depth: depth } : {}) }, body });
    const query = (inner: string, depth = '1', path = BOOK) => report(path, `<?xml version="1.0"?><C:addressbook-query ${NSS}>${inner}</C:addressbook-query>`, depth);
    const multiget = (inner: string, depth?: string) => report(BOOK, `<?xml version="1.0"?><C:addressbook-multiget ${NSS}>${inner}</C:addressbook-multiget>`, depth);
    const put = (name: string, body: string, type = 'text/vcard; charset=utf-8') => raw(s.url, BOOK + encodeURIComponent(name), { method: 'PUT', body, headers: { 'Content-Type': type } });

    before(async () => {
      s = await startTestServer({ backend, caldav: true });
      for (const [name, text] of Object.entries(CARDS)) assert.equal((await put(name, text)).status, 201, name);
      await plant(s, backend, `${BOOK.slice(1)}notes.txt`, NOT_A_CARD);
    });
    after(() => s.close());

    it('supported-report-set of an address book lists addressbook-query and addressbook-multiget (RFC 6352 §3)', async () => {
      const r = await raw(s.url, BOOK, { method: 'PROPFIND', headers: { ...XML, Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:supported-report-set/></D:prop></D:propfind>' });
      assert.equal(r.status, 207);
      assert.match(r.text, /addressbook-query/);
      assert.match(r.text, /addressbook-multiget/);
      // …and a plain folder does not offer them.
      assert.equal((await raw(s.url, '/plain/', { method: 'MKCOL' })).status, 201);
      const plain = await raw(s.url, '/plain/', { method: 'PROPFIND', headers: { ...XML, Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:supported-report-set/></D:prop></D:propfind>' });
      assert.doesNotMatch(plain.text, /addressbook-query/);
      const refused = await query('<D:prop><D:getetag/></D:prop>', '1', '/plain/');
      assert.equal(refused.status, 403);
      assert.equal(condition(refused.text), '{DAV:}supported-report');
    });

    describe('addressbook-query (§8.6)', () => {
      it('without a filter answers every card, not the file that is no card', async () => {
        const r = await query('<D:prop><D:getetag/></D:prop>');
        assert.equal(r.status, 207, r.text);
        const as = answers(r.text);
        assert.deepEqual(names(as), ['ada.vcf', 'grace.vcf', 'zoë.vcf']);
        for (const a of as) assert.match(textOf(a.props.get('getetag')!.el), /^"/);
      });

      it('with an empty filter and Depth 0 on the book answers its cards too (Evolution lists so)', async () => {
        const r = await query('<D:prop><D:getetag/></D:prop><C:filter/>', '0');
        assert.equal(r.status, 207, r.text);
        assert.deepEqual(names(answers(r.text)), ['ada.vcf', 'grace.vcf', 'zoë.vcf']);
      });

      it('with a filter answers only the matching cards', async () => {
        const r = await query('<D:prop><D:getetag/></D:prop><C:filter><C:prop-filter name="FN"><C:text-match match-type="contains">ada</C:text-match></C:prop-filter></C:filter>');
        assert.equal(r.status, 207, r.text);
        assert.deepEqual(names(answers(r.text)), ['ada.vcf']);
        const email = await query('<D:prop><D:getetag/></D:prop><C:filter><C:prop-filter name="EMAIL"><C:text-match match-type="ends-with">example.org</C:text-match></C:prop-filter></C:filter>');
        assert.deepEqual(names(answers(email.text)), ['ada.vcf', 'zoë.vcf']);
      });

      it('on one card answers that card if it matches, nothing if not', async () => {
        const hit = await query('<D:prop><D:getetag/></D:prop><C:filter><C:prop-filter name="UID"><C:text-match match-type="equals">grace-1</C:text-match></C:prop-filter></C:filter>', '0', BOOK + 'grace.vcf');
        assert.equal(hit.status, 207, hit.text);
        assert.deepEqual(names(answers(hit.text)), ['grace.vcf']);
        const miss = await query('<D:prop><D:getetag/></D:prop><C:filter><C:prop-filter name="UID"><C:text-match match-type="equals">ada-1</C:text-match></C:prop-filter></C:filter>', '0', BOOK + 'grace.vcf');
        assert.deepEqual(answers(miss.text), []);
      });

      it('CARDDAV:limit: at most nresults cards, then a 507 number-of-matches-within-limits for the book (§8.6.1)', async () => {
        const r = await query('<D:prop><D:getetag/></D:prop><C:filter/><C:limit><C:nresults>2</C:nresults></C:limit>');
        assert.equal(r.status, 207, r.text);
        const as = answers(r.text);
        assert.equal(names(as).length, 2);
        const truncated = as.filter((a) => a.status);
        assert.equal(truncated.length, 1);
        assert.equal(truncated[0]!.href, BOOK);
        assert.match(truncated[0]!.status!, /^HTTP\/1.1 507 /);
        assert.equal(elements(truncated[0]!.error!)[0]!.local, 'number-of-matches-within-limits');
        // As many matches as the limit: all of them, no 507.
        const exact = answers((await query('<D:prop><D:getetag/></D:prop><C:filter/><C:limit><C:nresults>3</C:nresults></C:limit>')).text);
        assert.deepEqual(names(exact), ['ada.vcf', 'grace.vcf', 'zoë.vcf']);
        assert.equal(exact.filter((a) => a.status).length, 0);
      });

      it('a malformed nresults is a 400', async () => {
        for (const n of ['0', '-1', 'many', '']) {
          const r = await query(`<D:prop><D:getetag/></D:prop><C:filter/><C:limit><C:nresults>${n}</C:nresults></C:limit>`);
          assert.equal(r.status, 400, `nresults "${n}"`);
        }
      });

      it('an unsupported collation → 403 CARDDAV:supported-collation', async () => {
        const r = await query('<D:prop><D:getetag/></D:prop><C:filter><C:prop-filter name="FN"><C:text-match collation="i;klingon">a</C:text-match></C:prop-filter></C:filter>');
        assert.equal(r.status, 403, r.text);
        assert.equal(condition(r.text), '{urn:ietf:params:xml:ns:carddav}supported-collation');
      });

      it('an unsupported filter → 403 CARDDAV:supported-filter', async () => {
        const r = await query('<D:prop><D:getetag/></D:prop><C:filter><C:prop-filter name="FN"><C:text-match match-type="sounds-like">ada</C:text-match></C:prop-filter></C:filter>');
        assert.equal(r.status, 403, r.text);
        assert.equal(condition(r.text), '{urn:ietf:params:xml:ns:carddav}supported-filter');
      });
    });

    describe('address-data (§10.4)', () => {
      it('whole: a 3.0 card exactly as stored, CRs kept', async () => {
        const r = await query('<D:prop><D:getetag/><C:address-data/></D:prop><C:filter/>');
        const ada = answers(r.text).find((a) => a.href.endsWith('/ada.vcf'));
        assert.equal(dataOf(ada), ADA);
        assert.match(r.text, /&#13;/); // a literal CR would be read back as LF
      });

      it('a 4.0 card asked with version="4.0" comes as stored; a 3.0 card then comes as 4.0', async () => {
        const r = await query('<D:prop><C:address-data content-type="text/vcard" version="4.0"/></D:prop><C:filter/>');
        const as = answers(r.text);
        assert.equal(dataOf(as.find((a) => a.href.endsWith('/zoë.vcf'))), ZOE);
        const ada = dataOf(as.find((a) => a.href.endsWith('/ada.vcf')))!;
        assert.match(ada, /\r\nVERSION:4\.0\r\n/);
        assert.match(ada, /\r\nUID:ada-1\r\n/);
        assert.match(ada, /\r\nFN:Ada Lovelace\r\n/);
      });

      it('a 4.0 card asked without a version comes as 3.0 (Apple Contacts reads only 3.0)', async () => {
        const r = await query('<D:prop><C:address-data/></D:prop><C:filter/>');
        const data = dataOf(answers(r.text).find((a) => a.href.endsWith('/zoë.vcf')))!;
        assert.match(data, /\r\nVERSION:3\.0\r\n/);
        assert.match(data, /\r\nFN:Zoë Ærø\r\n/);
        assert.match(data, /\r\nUID:zoe-1\r\n/);
      });

      it('with CARDDAV:prop: only those properties (and what identifies the card), grouped ones by name', async () => {
        const r = await query('<D:prop><C:address-data><C:prop name="FN"/><C:prop name="EMAIL"/></C:address-data></D:prop><C:filter/>');
        assert.equal(r.status, 207, r.text);
        const as = answers(r.text);
        const ada = dataOf(as.find((a) => a.href.endsWith('/ada.vcf')))!;
        assert.match(ada, /^BEGIN:VCARD\r\n/);
        assert.match(ada, /\r\nEND:VCARD\r\n$/);
        assert.match(ada, /\r\nFN:Ada Lovelace\r\n/);
        assert.match(ada, /\r\nEMAIL;TYPE=INTERNET,HOME:ada@example.org\r\n/);
        assert.doesNotMatch(ada, /TEL|NOTE|N:Lovelace/);
        const grace = dataOf(as.find((a) => a.href.endsWith('/grace.vcf')))!;
        assert.match(grace, /\r\nitem1\.EMAIL;TYPE=INTERNET:grace@navy\.example\r\n/);
        assert.doesNotMatch(grace, /N:Hopper/);
      });

      it('novalue="yes": the property without its value', async () => {
        const r = await query('<D:prop><C:address-data><C:prop name="EMAIL" novalue="yes"/></C:address-data></D:prop><C:filter/>');
        const ada = dataOf(answers(r.text).find((a) => a.href.endsWith('/ada.vcf')))!;
        assert.match(ada, /\r\nEMAIL;TYPE=INTERNET,HOME:\r\n/);
        assert.doesNotMatch(ada, /ada@example\.org/);
      });

      it('an unsupported content-type → 403 CARDDAV:supported-address-data', async () => {
        const r = await query('<D:prop><C:address-data content-type="application/vcard+json"/></D:prop><C:filter/>');
        assert.equal(r.status, 403, r.text);
        assert.equal(condition(r.text), '{urn:ietf:params:xml:ns:carddav}supported-address-data');
      });
    });

    describe('addressbook-multiget (§8.7)', () => {
      it('each href: its card, or 404; relative, absolute and %-encoded hrefs; Depth ignored', async () => {
        const base = new URL(s.url);
        const hrefs = [`${BOOK}ada.vcf`, `http://${base.host}${BOOK}grace.vcf`, `${BOOK}zo%C3%AB.vcf`, `${BOOK}missing.vcf`, '/calendars/user/calendar/', '/addressbooks/user/elsewhere.vcf'];
        for (const depth of [undefined, '0', '1']) {
          const r = await multiget(`<D:prop><D:getetag/><C:address-data/></D:prop>${hrefs.map((h) => `<D:href>${h}</D:href>`).join('')}`, depth);
          assert.equal(r.status, 207, r.text);
          const as = answers(r.text);
          assert.equal(as.length, hrefs.length);
          assert.equal(dataOf(as[0]), ADA);
          assert.equal(dataOf(as[1]), GRACE);
          assert.match(dataOf(as[2])!, /FN:Zoë Ærø/);
          for (const a of as.slice(3)) assert.match(a.status ?? '', /^HTTP\/1.1 404 /, a.href);
        }
      });

      it('a file in the book that is no card: its getetag, and address-data 404', async () => {
        const r = await multiget(`<D:prop><D:getetag/><C:address-data/></D:prop><D:href>${BOOK}notes.txt</D:href>`);
        const [a] = answers(r.text);
        assert.match(a!.props.get('getetag')!.status, / 200 /);
        assert.match(a!.props.get('address-data')!.status, / 404 /);
      });

      it('with CARDDAV:prop: only those properties', async () => {
        const r = await multiget(`<D:prop><C:address-data><C:prop name="UID"/></C:address-data></D:prop><D:href>${BOOK}ada.vcf</D:href>`);
        const data = dataOf(answers(r.text)[0])!;
        assert.match(data, /UID:ada-1/);
        assert.doesNotMatch(data, /EMAIL|TEL/);
      });

      it('no href is a 400', async () => {
        assert.equal((await multiget('<D:prop><D:getetag/></D:prop>')).status, 400);
      });
    });

    describe('sync-collection (RFC 6578)', () => {
      it('with address-data, after one change: that card alone, with its new data', async () => {
        const first = await report(BOOK, `<?xml version="1.0"?><D:sync-collection ${NSS}><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`);
        assert.equal(first.status, 207, first.text);
        const token = textOf(elements(parseXml(first.text)).find((e) => e.local === 'sync-token')!);
        const changed = ADA.replace('NOTE:Analytical engine\\, notes', 'NOTE:changed');
        assert.equal((await put('ada.vcf', changed)).status, 204);
        const r = await report(BOOK, `<?xml version="1.0"?><D:sync-collection ${NSS}><D:sync-token>${token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/><C:address-data/></D:prop></D:sync-collection>`, '1');
        assert.equal(r.status, 207, r.text);
        const as = answers(r.text).filter((a) => a.href);
        assert.deepEqual(as.map((a) => a.href), [BOOK + 'ada.vcf']);
        assert.equal(dataOf(as[0]), changed);
        assert.equal((await put('ada.vcf', ADA)).status, 204);
      });
    });
  });
});

describe('CardDAV addressbook-query: the server caps its answer', () => {
  for (const backend of ['fs', 'git'] as const) {
    it(`answers at most limits.maxReportResults cards, then a 507 (${backend})`, async () => {
      const s = await startTestServer({ backend, caldav: true, dav: { limits: { maxReportResults: 2 } as never } });
      try {
        for (const [name, text] of Object.entries(CARDS)) assert.equal((await raw(s.url, BOOK + encodeURIComponent(name), { method: 'PUT', body: text, headers: { 'Content-Type': 'text/vcard' } })).status, 201);
        const body = `<C:addressbook-query ${NSS}><D:prop><D:getetag/></D:prop><C:filter/><C:limit><C:nresults>50</C:nresults></C:limit></C:addressbook-query>`;
        const r = await raw(s.url, BOOK, { method: 'REPORT', headers: { ...XML, Depth: '1' }, body });
        const as = answers(r.text);
        assert.equal(names(as).length, 2);
        assert.match(as.find((a) => a.status)?.status ?? '', / 507 /);
      } finally {
        await s.close();
      }
    });
  }
});
