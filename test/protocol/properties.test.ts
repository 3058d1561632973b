import assert from 'node:assert/strict';
import { forEachBackend } from '../helpers/backends.js';
import { raw, startTestServer, propfindBody, XML, type TestServer } from '../helpers/server.js';
import { parseXml, elements, textOf, type XmlElement } from '../../lib/dav/xml/parse.js';

const DAV = 'DAV:';

/** Parses a 207 into href → { status → [props] }. */
function multistatus(text: string): Map<string, Map<number, XmlElement[]>> {
  const out = new Map<string, Map<number, XmlElement[]>>();
  const root = parseXml(text);
  assert.equal(root.local, 'multistatus');
  for (const resp of elements(root)) {
    const href = textOf(elements(resp).find((e) => e.local === 'href')!);
    const byStatus = new Map<number, XmlElement[]>();
    for (const ps of elements(resp).filter((e) => e.local === 'propstat')) {
      const status = Number(/HTTP\/1.1 (\d+)/.exec(textOf(elements(ps).find((e) => e.local === 'status')!))![1]);
      byStatus.set(status, elements(elements(ps).find((e) => e.local === 'prop')!));
    }
    out.set(href, byStatus);
  }
  return out;
}

forEachBackend((kind) => describe(`RFC 4918 §9.1 PROPFIND and §9.2 PROPPATCH (${kind})`, () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: kind, dav: { limits: { maxInfinityResources: 5 } as never } });
    await raw(s.url, '/col', { method: 'MKCOL' });
    await raw(s.url, '/col/a.txt', { method: 'PUT', body: 'aaa' });
    await raw(s.url, '/col/sub', { method: 'MKCOL' });
  });
  after(() => s.close());

  it('Depth 0 on a file: live properties with exact values', async () => {
    const r = await raw(s.url, '/col/a.txt', { method: 'PROPFIND', headers: { Depth: '0', ...XML }, body: propfindBody('getcontentlength', 'resourcetype', 'getetag', 'getcontenttype', 'displayname') });
    assert.equal(r.status, 207);
    const ms = multistatus(r.text);
    const ok = ms.get('/col/a.txt')!.get(200)!;
    const val = (n: string) => textOf(ok.find((p) => p.local === n)!);
    assert.equal(val('getcontentlength'), '3');
    assert.equal(val('getcontenttype'), 'text/plain; charset=utf-8');
    assert.equal(val('displayname'), 'a.txt');
    const get = await raw(s.url, '/col/a.txt');
    assert.equal(val('getetag'), get.headers.etag, 'the same strong ETag as the header');
    assert.equal(elements(ok.find((p) => p.local === 'resourcetype')!).length, 0);
  });

  it('Depth 1 on a collection lists members with trailing slashes on collections', async () => {
    const r = await raw(s.url, '/col', { method: 'PROPFIND', headers: { Depth: '1' }, body: propfindBody('resourcetype') });
    const hrefs = [...multistatus(r.text).keys()].sort();
    assert.deepEqual(hrefs, ['/col/', '/col/a.txt', '/col/sub/']);
  });

  it('unknown properties get a 404 propstat, never a failed request; Brief: t drops it', async () => {
    const body = `<D:propfind xmlns:D="DAV:" xmlns:X="urn:x"><D:prop><D:getetag/><X:nope/></D:prop></D:propfind>`;
    const ms = multistatus((await raw(s.url, '/col/a.txt', { method: 'PROPFIND', headers: { Depth: '0' }, body })).text);
    assert.equal(ms.get('/col/a.txt')!.get(404)![0]!.ns, 'urn:x');
    const brief = multistatus((await raw(s.url, '/col/a.txt', { method: 'PROPFIND', headers: { Depth: '0', Brief: 't' }, body })).text);
    assert.equal(brief.get('/col/a.txt')!.has(404), false);
  });

  it('empty body = allprop; propname lists names without values; include adds non-allprop ones', async () => {
    const all = multistatus((await raw(s.url, '/col/', { method: 'PROPFIND', headers: { Depth: '0' } })).text);
    const names = all.get('/col/')!.get(200)!.map((p) => p.local);
    assert.ok(names.includes('resourcetype') && names.includes('lockdiscovery'));
    assert.ok(!names.includes('supported-report-set'), 'RFC 3253 properties are not in allprop');
    // Quota (RFC 4331) is the folder backend's (its file system's free space); a git repository
    // reports none, so the property does not apply there and allprop leaves it out.
    assert.equal(names.includes('quota-available-bytes'), kind === 'fs', 'quota is, where the backend has one (clients ask for it with allprop)');
    const pn = multistatus((await raw(s.url, '/col/', { method: 'PROPFIND', headers: { Depth: '0' }, body: '<propfind xmlns="DAV:"><propname/></propfind>' })).text);
    assert.ok(pn.get('/col/')!.get(200)!.every((p) => p.children.length === 0));
    const inc = multistatus((await raw(s.url, '/col/', { method: 'PROPFIND', headers: { Depth: '0' }, body: '<propfind xmlns="DAV:"><allprop/><include><supported-report-set/></include></propfind>' })).text);
    assert.ok(inc.get('/col/')!.get(200)!.some((p) => p.local === 'supported-report-set'));
    const quota = all.get('/col/')!.get(200)!.find((p) => p.local === 'quota-available-bytes');
    if (kind === 'fs') assert.ok(Number(textOf(quota!)) > 0);
  });

  it('Depth infinity above the limit → 403 propfind-finite-depth; below it → the whole tree', async () => {
    const ok = await raw(s.url, '/col/', { method: 'PROPFIND', headers: { Depth: 'infinity' }, body: propfindBody('getetag') });
    assert.equal(ok.status, 207);
    for (let i = 0; i < 6; i++) await raw(s.url, `/col/sub/f${i}`, { method: 'PUT', body: 'x' });
    const r = await raw(s.url, '/col/', { method: 'PROPFIND', headers: { Depth: 'infinity' }, body: propfindBody('getetag') });
    assert.equal(r.status, 403);
    assert.match(r.text, /<D:propfind-finite-depth\/>/);
    assert.equal((await raw(s.url, '/col/', { method: 'PROPFIND', headers: { Depth: '2' } })).status, 400);
  });

  it('dead properties round-trip exactly: XML values, namespaces, xml:lang', async () => {
    const body = `<?xml version="1.0"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://example.com/z/">
  <D:set xml:lang="de"><D:prop>
    <Z:Author>Jürgen <Z:b xmlns:Q="urn:q" Q:attr="1&amp;2">bold &lt;x&gt;</Z:b></Z:Author>
    <nons xmlns="">plain</nons>
  </D:prop></D:set>
</D:propertyupdate>`;
    const r = await raw(s.url, '/col/a.txt', { method: 'PROPPATCH', body });
    assert.equal(r.status, 207);
    assert.ok(multistatus(r.text).get('/col/a.txt')!.has(200));
    const q = `<D:propfind xmlns:D="DAV:" xmlns:Z="http://example.com/z/"><D:prop><Z:Author/><nons xmlns=""/></D:prop></D:propfind>`;
    const got = multistatus((await raw(s.url, '/col/a.txt', { method: 'PROPFIND', headers: { Depth: '0' }, body: q })).text);
    const [author, nons] = got.get('/col/a.txt')!.get(200)!;
    assert.equal(author!.ns, 'http://example.com/z/');
    assert.equal(author!.lang, 'de');
    assert.equal(textOf(author!), 'Jürgen bold <x>');
    const b = elements(author!)[0]!;
    assert.equal(b.ns, 'http://example.com/z/');
    assert.equal(b.attrs.get('{urn:q}attr'), '1&2');
    assert.equal(nons!.ns, '');
    assert.equal(textOf(nons!), 'plain');
  });

  it('PROPPATCH of a protected property fails whole: 403 for it, 424 for the rest, nothing stored', async () => {
    const body = `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>"x"</D:getetag><D:displayname>Nice</D:displayname></D:prop></D:set></D:propertyupdate>`;
    const ms = multistatus((await raw(s.url, '/col/', { method: 'PROPPATCH', body })).text);
    assert.equal(ms.get('/col/')!.get(403)![0]!.local, 'getetag');
    assert.equal(ms.get('/col/')!.get(424)![0]!.local, 'displayname');
    const dn = multistatus((await raw(s.url, '/col/', { method: 'PROPFIND', headers: { Depth: '0' }, body: propfindBody('displayname') })).text);
    assert.equal(textOf(dn.get('/col/')!.get(200)![0]!), 'col');
  });

  it('displayname is settable and removable', async () => {
    const set = `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>My Folder</D:displayname></D:prop></D:set></D:propertyupdate>`;
    assert.equal((await raw(s.url, '/col/sub/', { method: 'PROPPATCH', body: set })).status, 207);
    const read = async () => textOf(multistatus((await raw(s.url, '/col/sub/', { method: 'PROPFIND', headers: { Depth: '0' }, body: propfindBody('displayname') })).text).get('/col/sub/')!.get(200)![0]!);
    assert.equal(await read(), 'My Folder');
    await raw(s.url, '/col/sub/', { method: 'PROPPATCH', body: `<D:propertyupdate xmlns:D="DAV:"><D:remove><D:prop><D:displayname/></D:prop></D:remove></D:propertyupdate>` });
    assert.equal(await read(), 'sub');
  });

  it('properties of a missing resource → 404; PROPPATCH without propertyupdate → 400', async () => {
    assert.equal((await raw(s.url, '/nothing', { method: 'PROPFIND', headers: { Depth: '0' } })).status, 404);
    assert.equal((await raw(s.url, '/col/', { method: 'PROPPATCH', body: '<D:propfind xmlns:D="DAV:"/>' })).status, 400);
    void DAV;
  });
}));
