/**
 * The request sequences of clients that cannot run here (Windows Mini-Redirector, macOS Finder,
 * GVFS), replayed as they send them, with the answers they depend on.
 */
import assert from 'node:assert/strict';
import { forEachBackend, storageOf } from '../helpers/backends.js';
import { raw, startTestServer, lockBody, type TestServer } from '../helpers/server.js';

const token = (h: unknown) => /<([^>]+)>/.exec(String(h))![1]!;

forEachBackend((kind) => describe(`client sequences: Windows, Finder, GVFS (${kind})`, () => {
  let s: TestServer;
  const stored = () => storageOf(kind, s.root);
  beforeEach(async () => (s = await startTestServer({ backend: kind })));
  afterEach(() => s.close());

  it('Windows Explorer: LOCK unmapped → PUT with untagged If → PROPPATCH Win32 times → UNLOCK', async () => {
    const opts = await raw(s.url, '/', { method: 'OPTIONS', headers: { 'User-Agent': 'Microsoft-WebDAV-MiniRedir/10.0.19045' } });
    assert.match(opts.headers.dav as string, /^1, 2, 3\b/);
    assert.equal(opts.headers['ms-author-via'], 'DAV');
    const l = await raw(s.url, '/Report.docx', { method: 'LOCK', headers: { Timeout: 'Second-3600', Depth: '0' }, body: lockBody('exclusive', 'WIN\\alice') });
    assert.equal(l.status, 201);
    const t = token(l.headers['lock-token']);
    assert.equal((await raw(s.url, '/Report.docx', { method: 'PUT', headers: { If: `(<${t}>)` }, body: 'PK\u0003\u0004 docx bytes' })).status, 204);
    const win32 = `<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>
<Z:Win32CreationTime>Mon, 23 Nov 2026 10:00:00 GMT</Z:Win32CreationTime><Z:Win32LastAccessTime>Mon, 23 Nov 2026 10:00:01 GMT</Z:Win32LastAccessTime>
<Z:Win32LastModifiedTime>Mon, 23 Nov 2026 10:00:02 GMT</Z:Win32LastModifiedTime><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>`;
    const pp = await raw(s.url, '/Report.docx', { method: 'PROPPATCH', headers: { If: `(<${t}>)` }, body: win32 });
    assert.equal(pp.status, 207);
    assert.match(pp.text, /HTTP\/1.1 200 OK/);
    assert.equal((await raw(s.url, '/Report.docx', { method: 'PROPPATCH', body: win32 })).status, 423, 'not without the token');
    assert.equal((await raw(s.url, '/Report.docx', { method: 'UNLOCK', headers: { 'Lock-Token': `<${t}>` } })).status, 204);
    const pf = await raw(s.url, '/', { method: 'PROPFIND', headers: { Depth: '1' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:getlastmodified/><D:getcontentlength/><D:resourcetype/><Z:Win32FileAttributes xmlns:Z="urn:schemas-microsoft-com:"/></D:prop></D:propfind>' });
    assert.match(pf.text, /<D:getlastmodified>\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT<\/D:getlastmodified>/, 'RFC 1123 dates');
    assert.match(pf.text, /<Win32FileAttributes xmlns="urn:schemas-microsoft-com:">00000020<\/Win32FileAttributes>/);
  });

  it('macOS Finder: LOCK, chunked PUT of a temp name, MOVE over the original, AppleDouble files', async () => {
    await raw(s.url, '/Photo.jpg', { method: 'PUT', body: 'old' });
    const l = await raw(s.url, '/Photo.jpg', { method: 'LOCK', headers: { Timeout: 'Second-600' }, body: lockBody('exclusive', 'http://www.apple.com/webdav_fs/') });
    const t = token(l.headers['lock-token']);
    const tmp = await raw(s.url, '/.dat1234.tmp', { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked', 'X-Expected-Entity-Length': '3' }, body: 'new' });
    assert.equal(tmp.status, 201);
    assert.equal((await raw(s.url, '/._Photo.jpg', { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' }, body: Buffer.from([0, 5, 22, 7]) })).status, 201);
    const mv = await raw(s.url, '/.dat1234.tmp', { method: 'MOVE', headers: { Destination: `${s.url}/Photo.jpg`, Overwrite: 'T', If: `<${s.url}/Photo.jpg> (<${t}>)` } });
    assert.equal(mv.status, 204);
    assert.equal(await stored().text('/Photo.jpg'), 'new');
    assert.equal((await raw(s.url, '/._Photo.jpg', { method: 'DELETE' })).status, 204);
    assert.deepEqual(await stored().names(), ['Photo.jpg']);
  });

  it('GVFS: an empty PUT then the content; overwrite as DELETE + PUT', async () => {
    assert.equal((await raw(s.url, '/g.txt', { method: 'PUT', body: '' })).status, 201);
    assert.equal((await raw(s.url, '/g.txt', { method: 'PUT', body: 'content' })).status, 204);
    assert.equal((await raw(s.url, '/g.txt', { method: 'DELETE' })).status, 204);
    assert.equal((await raw(s.url, '/g.txt', { method: 'PUT', body: 'again' })).status, 201);
    assert.equal(await stored().text('/g.txt'), 'again');
  });

  it("junk: Finder's ._ files beside a copy, an Office owner file LOCK – PUT 0 bytes – PUT – UNLOCK, Explorer's desktop.ini; on git none reaches the tree", async () => {
    // Finder copying Photo.jpg: the AppleDouble file first, then the file, then it looks at both.
    assert.equal((await raw(s.url, '/._Photo.jpg', { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' }, body: Buffer.from([0, 5, 22, 7, 0, 2]) })).status, 201);
    assert.equal((await raw(s.url, '/Photo.jpg', { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' }, body: 'jpeg' })).status, 201);
    const looked = await raw(s.url, '/._Photo.jpg', { method: 'PROPFIND', headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:getcontentlength/></D:prop></D:propfind>' });
    assert.match(looked.text, /<D:getcontentlength>6<\/D:getcontentlength>/);
    // Word opening Report.docx: its owner file, locked, made empty, then written, then unlocked.
    const l = await raw(s.url, '/~$Report.docx', { method: 'LOCK', headers: { Timeout: 'Second-180', Depth: '0' }, body: lockBody('exclusive', 'WIN\\alice') });
    assert.equal(l.status, 201);
    const t = token(l.headers['lock-token']);
    assert.equal((await raw(s.url, '/~$Report.docx', { method: 'PUT', headers: { If: `(<${t}>)` }, body: '' })).status, 204);
    assert.equal((await raw(s.url, '/~$Report.docx', { method: 'PUT', body: 'not yours' })).status, 423, 'the lock holds on a junk file');
    assert.equal((await raw(s.url, '/~$Report.docx', { method: 'PUT', headers: { If: `(<${t}>)` }, body: 'alice' })).status, 204);
    assert.equal((await raw(s.url, '/~$Report.docx', { method: 'UNLOCK', headers: { 'Lock-Token': `<${t}>` } })).status, 204);
    assert.equal((await raw(s.url, '/~$Report.docx')).text, 'alice');
    // Explorer customising a folder: desktop.ini with its Win32 attributes.
    assert.equal((await raw(s.url, '/Pics', { method: 'MKCOL' })).status, 201);
    assert.equal((await raw(s.url, '/Pics/desktop.ini', { method: 'PUT', body: '[.ShellClassInfo]\r\n' })).status, 201);
    const attrs = '<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32FileAttributes>00000026</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>';
    assert.match((await raw(s.url, '/Pics/desktop.ini', { method: 'PROPPATCH', body: attrs })).text, /HTTP\/1.1 200 OK/);
    const listed = await raw(s.url, '/Pics', { method: 'PROPFIND', headers: { Depth: '1' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><Z:Win32FileAttributes xmlns:Z="urn:schemas-microsoft-com:"/></D:prop></D:propfind>' });
    assert.match(listed.text, /Pics\/desktop\.ini<\/D:href>[\s\S]*>00000026</);
    assert.equal((await raw(s.url, '/._Photo.jpg', { method: 'DELETE' })).status, 204);
    assert.equal((await raw(s.url, '/._Photo.jpg')).status, 404);
    assert.deepEqual(await stored().names(), kind === 'git' ? ['Photo.jpg', 'Pics'] : ['Photo.jpg', 'Pics', '~$Report.docx']);
    assert.deepEqual(await stored().names('/Pics'), kind === 'git' ? ['.davprops'] : ['.davprops', 'desktop.ini']); // fs: its properties in a sidecar
  });
}));
