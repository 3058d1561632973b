/** A real CardDAV client library (npm tsdav) against the real server, on both backends. */
import assert from 'node:assert/strict';
import { DAVClient, type DAVAddressBook, type DAVObject } from 'tsdav';
import { raw, startTestServer, type BackendName, type TestServer } from '../helpers/server.js';
import { fnOf, vcard } from '../helpers/vcards.js';

// git also with the default 2 s bursts: the client's flow reads an overlay with uncommitted records.
for (const [backend, bursts] of [['fs', false], ['git', false], ['git', true]] as Array<[BackendName, boolean]>) {
  describe(`real client: tsdav CardDAV (${backend} backend${bursts ? ', 2 s bursts' : ''})`, function () {
    this.timeout(30_000);
    let s: TestServer;
    let client: DAVClient;
    let book: DAVAddressBook;
    let books: string; // the address book home's path

    before(async () => {
      s = await startTestServer({ backend, caldav: true, ...(bursts ? { git: { burstWindowMs: 2000 } } : {}) });
      client = new DAVClient({ serverUrl: `${s.url}/`, credentials: { username: 'user', password: 'x' }, authMethod: 'Basic', defaultAccountType: 'carddav' });
      await client.login();
      books = '/addressbooks/user/';
    });
    after(() => s.close());

    it('discovers the principal and the address book home from the bare root URL', async () => {
      assert.equal(client.account?.principalUrl, `${s.url}/principals/user/`);
      assert.equal(client.account?.homeUrl, `${s.url}${books}`);
      const found = await client.fetchAddressBooks();
      assert.deepEqual(found.map((b) => b.url), [`${s.url}${books}contacts/`]);
      book = found[0]!;
      assert.equal(book.displayName, 'Contacts');
      assert.ok(book.ctag, 'a getctag');
      assert.ok(book.syncToken, 'a sync-token');
      for (const report of ['addressbookQuery', 'addressbookMultiget', 'syncCollection']) {
        assert.ok(book.reports?.includes(report), `${report} in supported-report-set: ${JSON.stringify(book.reports)}`);
      }
    });

    it('createVCard / updateVCard / deleteVCard with strong ETags, If-Match and If-None-Match', async () => {
      const ada = vcard('ada-1', 'Ada Lovelace', { extra: ['EMAIL;TYPE=INTERNET:ada@example.org'] });
      const created = await client.createVCard({ addressBook: book, filename: 'ada.vcf', vCardString: ada });
      assert.equal(created.status, 201);
      const etag = created.headers.get('etag')!;
      assert.match(etag, /^"[^"]+"$/);
      const got = await raw(s.url, `${books}contacts/ada.vcf`);
      assert.equal(got.text, ada, 'the client’s bytes, unchanged');
      assert.equal(got.headers.etag, etag);
      assert.match(String(got.headers['content-type']), /^text\/vcard/);

      const url = `${book.url}ada.vcf`;
      const king = vcard('ada-1', 'Ada King', { extra: ['EMAIL;TYPE=INTERNET:ada@example.org'] });
      assert.equal((await client.updateVCard({ vCard: { url, data: king, etag: '"stale"' } })).status, 412);
      const ok = await client.updateVCard({ vCard: { url, data: king, etag } });
      assert.equal(ok.status, 204);
      assert.equal((await client.createVCard({ addressBook: book, filename: 'ada.vcf', vCardString: ada })).status, 412, 'If-None-Match: * on an existing card');

      await client.createVCard({ addressBook: book, filename: 'gone.vcf', vCardString: vcard('gone-1', 'Soon Gone') });
      const gone = await client.deleteVCard({ vCard: { url: `${book.url}gone.vcf`, etag: '"stale"' } });
      assert.equal(gone.status, 412, 'a stale If-Match keeps the card');
      assert.equal((await client.deleteVCard({ vCard: { url: `${book.url}gone.vcf` } })).status, 204);
      assert.equal((await raw(s.url, `${books}contacts/gone.vcf`)).status, 404);
    });

    it('fetchVCards (addressbook-query, then multiget) returns every card with its ETag and data', async () => {
      await client.createVCard({ addressBook: book, filename: 'zoe.vcf', vCardString: vcard('zoe-1', 'Zoë Ærø', { version: '4.0' }) });
      const cards = await client.fetchVCards({ addressBook: book });
      const byUrl = new Map(cards.map((c) => [c.url, c]));
      assert.deepEqual([...byUrl.keys()].sort(), [`${book.url}ada.vcf`, `${book.url}zoe.vcf`]);
      assert.equal(fnOf(String(byUrl.get(`${book.url}ada.vcf`)!.data)), 'Ada King');
      const zoe = String(byUrl.get(`${book.url}zoe.vcf`)!.data);
      assert.match(zoe, /FN:Zoë Ærø/);
      assert.match(zoe, /^VERSION:3\.0\r?$/m, 'address-data without a version is 3.0');
      assert.match((await raw(s.url, `${books}contacts/zoe.vcf`)).text, /^VERSION:4\.0\r$/m, 'GET gives the card as stored');
      for (const c of cards) assert.equal(c.etag, (await raw(s.url, new URL(c.url).pathname)).headers.etag, `${c.url}: the ETag of its GET`);
    });

    it('addressBookMultiGet returns the asked cards (absolute and path hrefs)', async () => {
      const res = await client.addressBookMultiGet({
        url: book.url,
        props: { 'd:getetag': {}, 'card:address-data': {} } as never,
        objectUrls: [`${book.url}ada.vcf`, `${new URL(book.url).pathname}zoe.vcf`],
        depth: '1',
      });
      const data = new Map(res.map((r) => [r.href, String((r.props as Record<string, unknown>).addressData)]));
      assert.match(data.get(`${books}contacts/ada.vcf`)!, /FN:Ada King/);
      assert.match(data.get(`${books}contacts/zoe.vcf`)!, /UID:zoe-1/);
      // As DAVx5 asks when 4.0 is advertised: the 3.0 card converted, the 4.0 one as stored.
      const v4 = await client.addressBookMultiGet({
        url: book.url,
        props: { 'd:getetag': {}, 'card:address-data': { _attributes: { 'content-type': 'text/vcard', version: '4.0' } } } as never,
        objectUrls: [`${book.url}ada.vcf`, `${book.url}zoe.vcf`],
        depth: '1',
      });
      const data4 = new Map(v4.map((r) => [r.href, String((r.props as Record<string, unknown>).addressData)]));
      assert.match(data4.get(`${books}contacts/ada.vcf`)!, /^VERSION:4\.0\r?$/m);
      assert.match(data4.get(`${books}contacts/ada.vcf`)!, /FN:Ada King/);
      // (tsdav's XML reader trims the text, so the last CRLF is gone)
      assert.equal(data4.get(`${books}contacts/zoe.vcf`)!.replace(/\r?\n/g, '\r\n'), vcard('zoe-1', 'Zoë Ærø', { version: '4.0' }).trimEnd());
    });

    it('syncCollection and smartCollectionSync see exactly one change after one change', async () => {
      const [before] = (await client.fetchAddressBooks()).filter((b) => b.url === book.url);
      const objects: DAVObject[] = await client.fetchVCards({ addressBook: before! });
      await client.createVCard({ addressBook: book, filename: 'new.vcf', vCardString: vcard('new-1', 'New Person') });

      const res = await client.syncCollection({ url: book.url, props: { 'd:getetag': {} } as never, syncLevel: 1, syncToken: before!.syncToken as string });
      assert.deepEqual(res.map((r) => `${r.href} ${r.status === 404 ? 'removed' : 'changed'}`), [`${books}contacts/new.vcf changed`]);

      const synced = await client.smartCollectionSyncDetailed({
        collection: { ...before!, objects, objectMultiGet: client.addressBookMultiGet.bind(client) },
        method: 'webdav',
        account: client.account,
      });
      const changes = synced.objects;
      assert.deepEqual(changes.created.map((o) => o.url), [`${book.url}new.vcf`]);
      assert.match(String(changes.created[0]!.data), /FN:New Person/);
      assert.deepEqual([changes.updated.length, changes.deleted.length], [0, 0]);
      assert.notEqual(synced.syncToken, before!.syncToken, 'a new token');

      await client.deleteVCard({ vCard: { url: `${book.url}zoe.vcf` } });
      const after = await client.syncCollection({ url: book.url, props: { 'd:getetag': {} } as never, syncLevel: 1, syncToken: synced.syncToken as string });
      assert.deepEqual(after.map((r) => `${r.href} ${r.status === 404 ? 'removed' : 'changed'}`), [`${books}contacts/zoe.vcf removed`]);
    });
  });
}
