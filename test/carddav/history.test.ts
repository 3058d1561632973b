/**
 * Address books in git history (issue 15 "History and messages"): each change is a commit whose
 * subject names the contact or address book, and address books appear under /.history/ like every
 * folder, a deleted one too. Git only: a folder keeps no history.
 */
import assert from 'node:assert/strict';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';
import { BOOK, multistatus, NSS, put, subjects, vcard } from './helpers.js';
import { tool } from '../helpers/tools.js';

const XMLH = { 'Content-Type': 'application/xml; charset=utf-8' };
const hrefs = async (s: TestServer, path: string) => [...multistatus((await raw(s.url, path, { method: 'PROPFIND', headers: { Depth: '1' } })).text).keys()];
const last = async (s: TestServer) => (await subjects(s, 1))[0];

describe('CardDAV history (git backend)', function () {
  this.timeout(60_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: 'git', caldav: true });
  });
  after(() => s.close());

  it('add, update, move, copy and delete a contact: one commit each, named after it', async () => {
    assert.equal((await put(s, `${BOOK}ada.vcf`, vcard('ada', 'Ada Lovelace'))).status, 201);
    assert.equal(await last(s), 'Add contact "Ada Lovelace"');
    assert.equal((await put(s, `${BOOK}ada.vcf`, vcard('ada', 'Ada King'))).status, 204);
    assert.equal(await last(s), 'Update contact "Ada King"');
    assert.equal((await raw(s.url, `${BOOK}ada.vcf`, { method: 'MOVE', headers: { Destination: `${s.url}${BOOK}countess.vcf` } })).status, 201);
    assert.equal(await last(s), 'Move contact "Ada King"');
    const mkcol = `<D:mkcol ${NSS}><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Work</D:displayname></D:prop></D:set></D:mkcol>`;
    assert.equal((await raw(s.url, '/addressbooks/user/work/', { method: 'MKCOL', headers: XMLH, body: mkcol })).status, 201);
    assert.equal(await last(s), 'Create address book "Work"');
    assert.equal((await raw(s.url, `${BOOK}countess.vcf`, { method: 'COPY', headers: { Destination: `${s.url}/addressbooks/user/work/countess.vcf` } })).status, 201);
    assert.equal(await last(s), 'Copy contact "Ada King"');
    assert.equal((await raw(s.url, `${BOOK}countess.vcf`, { method: 'DELETE' })).status, 204);
    assert.equal(await last(s), 'Delete contact "Ada King"');
  });

  it('a group card and an organization are named as such', async () => {
    assert.equal((await put(s, `${BOOK}family.vcf`, vcard('family', 'Family', { extra: ['X-ADDRESSBOOKSERVER-KIND:group'] }))).status, 201);
    assert.equal(await last(s), 'Add group "Family"');
    assert.equal((await put(s, `${BOOK}acme.vcf`, vcard('acme', 'ACME', { version: '4.0', extra: ['KIND:org'] }))).status, 201);
    assert.equal(await last(s), 'Add organization "ACME"');
  });

  it('a title cannot forge a commit line: CR/LF and quotes in FN are flattened', async () => {
    assert.equal((await put(s, `${BOOK}evil.vcf`, vcard('evil', 'Eve\\nSigned-off-by: "x"'))).status, 201);
    const subject = await last(s);
    assert.doesNotMatch(subject, /\n/);
    assert.match(subject, /^Add contact "Eve/);
  });

  it('address books appear under /.history/, and a deleted one stays in its commits', async () => {
    assert.ok((await hrefs(s, '/.history/branches/main/addressbooks/user/')).includes('/.history/branches/main/addressbooks/user/work/'));
    assert.match((await raw(s.url, '/.history/branches/main/addressbooks/user/work/countess.vcf')).text, /FN:Ada King/);
    const versions = (await hrefs(s, '/.history/versions/addressbooks/user/contacts/family.vcf/')).slice(1);
    assert.equal(versions.length, 1);
    const before = (await tool('git', ['--git-dir', s.root, 'rev-parse', 'main'])).stdout.trim();
    assert.equal((await raw(s.url, '/addressbooks/user/work/', { method: 'DELETE' })).status, 204);
    assert.equal(await last(s), 'Delete address book "Work"');
    assert.equal((await raw(s.url, '/.history/branches/main/addressbooks/user/work/')).status, 404);
    assert.match((await raw(s.url, `/.history/commits/${before}/addressbooks/user/work/countess.vcf`)).text, /UID:ada/);
  });

  it('a card restored from history by COPY is checked as a card (its UID) and stored again', async () => {
    const old = (await hrefs(s, '/.history/versions/addressbooks/user/contacts/countess.vcf/')).slice(1).pop()!;
    assert.ok(old, 'countess.vcf has versions');
    const r = await raw(s.url, old, { method: 'COPY', headers: { Destination: `${s.url}${BOOK}countess.vcf` } });
    assert.equal(r.status, 201, r.text);
    assert.match((await raw(s.url, `${BOOK}countess.vcf`)).text, /UID:ada/);
    // A second restore under another name would give the book the UID twice: refused.
    const again = await raw(s.url, old, { method: 'COPY', headers: { Destination: `${s.url}${BOOK}twice.vcf` } });
    assert.equal(again.status, 409, again.text);
  });
});
