import assert from 'node:assert/strict';
import { htmlRows } from '../helpers/html-rows.js';
import { forEachBackend } from '../helpers/backends.js';
import { lockBody, propfindBody, raw, startTestServer, XML, type TestServer } from '../helpers/server.js';
import { PAGE_SIZE } from '../../lib/dav/listing.js';

/** The responses of a multistatus body, by href. */
function responses(xml: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of xml.matchAll(/<D:response><D:href>([^<]*)<\/D:href>(.*?)<\/D:response>/gs)) out.set(m[1]!, m[2]!);
  return out;
}

forEachBackend((kind) => describe(`PROPFIND Depth 1 and the paged folder listing (${kind})`, () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: kind });
    await raw(s.url, '/d', { method: 'MKCOL' });
    await raw(s.url, '/d/sub', { method: 'MKCOL' });
    for (const n of ['a.txt', 'b c.txt', 'x&y.ics']) await raw(s.url, `/d/${encodeURIComponent(n)}`, { method: 'PUT', body: n });
  });
  after(() => s.close());

  const allprop = async () => responses((await raw(s.url, '/d/', { method: 'PROPFIND', headers: { Depth: '1' } })).text);

  it('allprop lists each member with its hrefs encoded and its dead properties', async () => {
    const patch = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:color>red</Z:color></D:prop></D:set></D:propertyupdate>`;
    assert.equal((await raw(s.url, '/d/a.txt', { method: 'PROPPATCH', headers: XML, body: patch })).status, 207);
    const r = await allprop();
    assert.deepEqual([...r.keys()].sort(), ['/d/', '/d/a.txt', '/d/b%20c.txt', '/d/sub/', '/d/x&amp;y.ics']);
    assert.match(r.get('/d/a.txt')!, /<color xmlns="urn:z">red<\/color>/);
    assert.match(r.get('/d/a.txt')!, /<D:getcontentlength>5<\/D:getcontentlength>/);
    assert.match(r.get('/d/sub/')!, /<D:resourcetype><D:collection\/><\/D:resourcetype>/);
    assert.doesNotMatch(r.get('/d/b%20c.txt')!, /color/);
    // A property change shows in the next listing.
    const unset = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:remove><D:prop><Z:color/></D:prop></D:remove></D:propertyupdate>`;
    await raw(s.url, '/d/a.txt', { method: 'PROPPATCH', headers: XML, body: unset });
    assert.doesNotMatch((await allprop()).get('/d/a.txt')!, /color/);
  });

  it('a stored displayname wins over the file name', async () => {
    const patch = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Shown</D:displayname></D:prop></D:set></D:propertyupdate>`;
    await raw(s.url, '/d/b%20c.txt', { method: 'PROPPATCH', headers: XML, body: patch });
    assert.match((await allprop()).get('/d/b%20c.txt')!, /<displayname xmlns="DAV:">Shown<\/displayname>/);
    assert.match((await allprop()).get('/d/a.txt')!, /<D:displayname>a.txt<\/D:displayname>/);
  });

  it('lockdiscovery of members follows LOCK and UNLOCK, on a member and depth-infinity on the folder', async () => {
    const body = propfindBody('lockdiscovery');
    const discover = async () => responses((await raw(s.url, '/d/', { method: 'PROPFIND', headers: { ...XML, Depth: '1' }, body })).text);
    assert.match((await discover()).get('/d/a.txt')!, /<D:lockdiscovery\/>/);
    const member = await raw(s.url, '/d/a.txt', { method: 'LOCK', headers: { ...XML, Timeout: 'Second-600' }, body: lockBody() });
    assert.equal(member.status, 200);
    let r = await discover();
    assert.match(r.get('/d/a.txt')!, /<D:activelock>/);
    assert.match(r.get('/d/b%20c.txt')!, /<D:lockdiscovery\/>/);
    await raw(s.url, '/d/a.txt', { method: 'UNLOCK', headers: { 'Lock-Token': member.headers['lock-token'] as string } });
    assert.match((await discover()).get('/d/a.txt')!, /<D:lockdiscovery\/>/);
    const folder = await raw(s.url, '/d/', { method: 'LOCK', headers: { ...XML, Depth: 'infinity' }, body: lockBody() });
    assert.equal(folder.status, 200);
    r = await discover();
    for (const href of ['/d/', '/d/a.txt', '/d/sub/']) assert.match(r.get(href)!, /<D:activelock>/, href);
    await raw(s.url, '/d/', { method: 'UNLOCK', headers: { 'Lock-Token': folder.headers['lock-token'] as string } });
    for (const v of (await discover()).values()) assert.doesNotMatch(v, /activelock/);
  });

  it('a write shows in the next listing (size, etag)', async () => {
    const before = (await allprop()).get('/d/x&amp;y.ics')!;
    await raw(s.url, '/d/x%26y.ics', { method: 'PUT', body: 'longer content' });
    const after = (await allprop()).get('/d/x&amp;y.ics')!;
    assert.notEqual(after, before);
    assert.match(after, /<D:getcontentlength>14<\/D:getcontentlength>/);
  });

  it('the HTML listing pages by cursor: every row once, links both ways, HEAD and ETag as GET', async () => {
    await raw(s.url, '/many', { method: 'MKCOL' });
    const count = PAGE_SIZE + 5;
    for (let i = 0; i < count; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => raw(s.url, `/many/f${String(i + j).padStart(5, '0')}`, { method: 'PUT', body: 'x' })));
    }
    const rows = (html: string) => htmlRows(html).map((x) => x.href.replace(/^\/many\//, ''));
    const first = await raw(s.url, '/many/');
    assert.equal(first.status, 200);
    const page1 = rows(first.text);
    assert.equal(page1.length, PAGE_SIZE);
    assert.doesNotMatch(first.text, /rel="prev"/);
    const next = /<a href="([^"]+)" rel="next">/.exec(first.text)![1]!.replace(/&amp;/g, '&');
    const second = await raw(s.url, next);
    const page2 = rows(second.text);
    assert.equal(page2.length, 5);
    assert.doesNotMatch(second.text, /rel="next"/);
    assert.deepEqual([...page1, ...page2], Array.from({ length: count }, (_, i) => `f${String(i).padStart(5, '0')}`));
    const prev = /<a href="([^"]+)" rel="prev">/.exec(second.text)![1]!.replace(/&amp;/g, '&');
    assert.deepEqual(rows((await raw(s.url, prev)).text), page1);
    const head = await raw(s.url, next, { method: 'HEAD' });
    assert.equal(head.headers['content-length'], String(second.body.length));
    assert.equal(head.headers.etag, second.headers.etag);
    assert.equal((await raw(s.url, next, { headers: { 'If-None-Match': second.headers.etag as string } })).status, 304);
  });

  it('a listing cursor past either end shows the nearest end’s page; an empty cursor is no cursor; links only where rows lie', async () => {
    await raw(s.url, '/few', { method: 'MKCOL' });
    await raw(s.url, '/few/sub', { method: 'MKCOL' });
    for (const n of ['a', 'b', 'c']) await raw(s.url, `/few/${n}`, { method: 'PUT', body: n });
    const page = async (query: string) => {
      const r = await raw(s.url, `/few/${query}`);
      assert.equal(r.status, 200, query);
      const rows = htmlRows(r.text).map((x) => x.href.replace(/^\/few\//, ''));
      const link = (rel: string) => [...r.text.matchAll(/<a href="([^"]+)" rel="(\w+)">/g)].find((m) => m[2] === rel)?.[1]?.replace(/&amp;/g, '&');
      return { rows, prev: link('prev'), next: link('next') };
    };
    const all = ['sub/', 'a', 'b', 'c'];
    assert.deepEqual(await page(''), { rows: all, prev: undefined, next: undefined });
    for (const q of ['?before=sub%2F', '?before=a%2F', '?after=c', '?after=zzz', '?after=', '?before=', '?after=a%2F', '?before=zzz']) {
      assert.deepEqual(await page(q), { rows: all, prev: undefined, next: undefined }, q);
    }
    assert.deepEqual(await page('?after=&before=b'), { rows: ['sub/', 'a'], prev: undefined, next: '/few/?after=a' });
    assert.deepEqual(await page('?after=a'), { rows: ['b', 'c'], prev: '/few/?before=b', next: undefined });
  });
}));
