/**
 * The vCard fixtures replayed over HTTP on both backends (fixtures/contacts/, README there): every
 * bad file is refused by PUT with 403 CARDDAV:valid-address-data (a `version-*` one with
 * supported-address-data: the book takes vCard 3.0 and 4.0) and nothing stored; every odd but
 * valid one is stored byte for byte and served back so, and is in the address book's GET.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachBackend } from '../helpers/backends.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';
import { parseCard } from '../../lib/carddav/vcard/index.js';
import { assertPrecondition, BOOK, put, snapshot } from './helpers.js';

const CONTACTS = join(FIXTURES_DIR, 'contacts');
const files = (dir: string) => readdirSync(join(CONTACTS, dir)).filter((f) => f.endsWith('.vcf')).sort();
const bytes = (dir: string, file: string) => readFileSync(join(CONTACTS, dir, file));

forEachBackend((backend) =>
  describe(`CardDAV fixtures over HTTP (${backend} backend)`, function () {
    this.timeout(60_000);
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ backend, caldav: true });
    });
    after(() => s.close());

    it('there are bad and edge fixtures to replay', () => {
      assert.ok(files('bad').length >= 10, files('bad').join());
      assert.ok(files('edge').length >= 10, files('edge').join());
    });

    describe('bad: 403 valid-address-data (version-*: supported-address-data), nothing stored', () => {
      for (const file of files('bad')) {
        const condition = file.startsWith('version-') ? 'supported-address-data' : 'valid-address-data';
        it(`${file} → ${condition}`, async () => {
          const before = await snapshot(s, backend);
          assertPrecondition(await put(s, `${BOOK}${file}`, bytes('bad', file)), 403, condition);
          assert.equal((await raw(s.url, `${BOOK}${file}`)).status, 404);
          assert.equal(await snapshot(s, backend), before);
        });
      }
    });

    describe('edge: stored and served byte for byte', () => {
      for (const file of files('edge')) {
        it(file, async () => {
          const body = bytes('edge', file);
          const r = await put(s, `${BOOK}${file}`, body);
          assert.equal(r.status, 201, r.text);
          const got = await raw(s.url, `${BOOK}${file}`);
          assert.ok(got.body.equals(body), 'the bytes as sent');
          assert.equal(got.headers.etag, r.headers.etag);
        });
      }
      it('the address book GET holds each of them, and parses back as vCards (no BOM, every BEGIN at a line start)', async () => {
        const all = (await raw(s.url, BOOK)).text;
        for (const file of files('edge')) {
          const uid = /^UID:(.*?)\s*$/m.exec(bytes('edge', file).toString('utf8'))![1]!;
          assert.match(all, new RegExp(`^UID:${uid}`, 'm'), file);
        }
        assert.ok(!all.includes('\uFEFF'), 'no BOM in the combined body (bom.vcf has one)');
        const begins = all.match(/BEGIN:VCARD/g)!.length;
        assert.equal(all.match(/^BEGIN:VCARD/gm)!.length, begins, 'every BEGIN:VCARD at a line start');
        const pieces = all.split(/^(?=BEGIN:VCARD)/m);
        assert.equal(pieces.length, files('edge').length);
        for (const piece of pieces) assert.doesNotThrow(() => parseCard(Buffer.from(piece, 'utf8'), { maxResourceSize: 1 << 20 }), piece.slice(0, 200));
      });
    });
  }),
);
