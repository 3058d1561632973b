/** REPORT expand-property (RFC 3253 §3.8) on a real server: nested hrefs become responses, within bounds. */
import assert from 'node:assert/strict';
import { forEachBackend } from '../helpers/backends.js';
import { raw, startTestServer, XML, type TestServer } from '../helpers/server.js';
import { child, elements, is, parseXml, textOf, type XmlElement } from '../../lib/dav/xml/parse.js';
import { MAX_DEPTH, MAX_RESOURCES } from '../../lib/dav/reports/expand-property.js';

const DAV = 'DAV:';
const CALDAV = 'urn:ietf:params:xml:ns:caldav';
const CARDDAV = 'urn:ietf:params:xml:ns:carddav';

/** A DAV:property element, with nested ones. */
const prop = (name: string, ns = DAV, ...nested: string[]) =>
  nested.length ? `<D:property name="${name}" namespace="${ns}">${nested.join('')}</D:property>` : `<D:property name="${name}" namespace="${ns}"/>`;
const body = (...props: string[]) => `<?xml version="1.0" encoding="utf-8"?><D:expand-property xmlns:D="DAV:">${props.join('')}</D:expand-property>`;

/** The one top-level response of a 207. */
function topResponse(text: string): XmlElement {
  const root = parseXml(text);
  assert.ok(is(root, DAV, 'multistatus'), text);
  const responses = elements(root).filter((e) => is(e, DAV, 'response'));
  assert.equal(responses.length, 1, text);
  return responses[0]!;
}

/** A response's property (from the propstat of the given status), or undefined. */
function propOf(response: XmlElement, ns: string, local: string, status = 200): XmlElement | undefined {
  for (const ps of elements(response).filter((e) => is(e, DAV, 'propstat'))) {
    if (!textOf(child(ps, DAV, 'status')!).includes(` ${status} `)) continue;
    const found = child(child(ps, DAV, 'prop')!, ns, local);
    if (found) return found;
  }
  return undefined;
}

const hrefOf = (response: XmlElement) => textOf(child(response, DAV, 'href')!);
const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

forEachBackend((backend) => describe(`REPORT expand-property (${backend} backend)`, function () {
  this.timeout(30_000);
  let s: TestServer;
  const report = (path: string, ...props: string[]) => raw(s.url, path, { method: 'REPORT', headers: { ...XML, Depth: '0' }, body: body(...props) });
  const proppatch = (path: string, xml: string) =>
    raw(s.url, path, { method: 'PROPPATCH', headers: XML, body: `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>${xml}</D:prop></D:set></D:propertyupdate>` });

  before(async () => {
    s = await startTestServer({ backend, caldav: { user: 'alice', email: 'alice@example.org' } });
  });
  after(() => s.close());

  it('expands current-user-principal into the principal’s calendar-home-set, addressbook-home-set and displayname', async () => {
    const r = await report('/calendars/alice/calendar/', prop('current-user-principal', DAV, prop('displayname'), prop('calendar-home-set', CALDAV), prop('addressbook-home-set', CARDDAV)));
    assert.equal(r.status, 207, r.text);
    const top = topResponse(r.text);
    assert.equal(hrefOf(top), '/calendars/alice/calendar/');
    const cup = propOf(top, DAV, 'current-user-principal');
    assert.ok(cup, r.text);
    assert.equal(child(cup, DAV, 'href'), undefined, 'the href is replaced');
    const principal = child(cup, DAV, 'response')!;
    assert.equal(hrefOf(principal), '/principals/alice/');
    assert.equal(textOf(child(propOf(principal, CALDAV, 'calendar-home-set')!, DAV, 'href')!), '/calendars/alice/');
    assert.equal(textOf(child(propOf(principal, CARDDAV, 'addressbook-home-set')!, DAV, 'href')!), '/addressbooks/alice/');
    assert.ok(propOf(principal, DAV, 'displayname') ?? propOf(principal, DAV, 'displayname', 404), 'displayname is answered (200 or 404)');
  });

  it('expands recursively: principal → calendar home → its resourcetype', async () => {
    const r = await report('/', prop('current-user-principal', DAV, prop('calendar-home-set', CALDAV, prop('resourcetype'))));
    assert.equal(r.status, 207, r.text);
    const principal = child(propOf(topResponse(r.text), DAV, 'current-user-principal')!, DAV, 'response')!;
    const home = child(propOf(principal, CALDAV, 'calendar-home-set')!, DAV, 'response')!;
    assert.equal(hrefOf(home), '/calendars/alice/');
    assert.ok(child(propOf(home, DAV, 'resourcetype')!, DAV, 'collection'), r.text);
  });

  it('a property without nested properties is answered as before (hrefs stay hrefs)', async () => {
    const r = await report('/principals/alice/', prop('calendar-home-set', CALDAV), prop('no-such-property', 'urn:x'));
    assert.equal(r.status, 207, r.text);
    const top = topResponse(r.text);
    assert.equal(textOf(child(propOf(top, CALDAV, 'calendar-home-set')!, DAV, 'href')!), '/calendars/alice/');
    assert.ok(propOf(top, 'urn:x', 'no-such-property', 404), 'an unknown property is a 404 propstat');
    assert.equal(count(r.text, /<D:response>/g), 1);
  });

  it('an href naming nothing is a 404 response; one outside this server stays an href (a stored property)', async () => {
    const set = `<D:group-member-set><D:href>/principals/nobody/</D:href><D:href>mailto:bob@example.org</D:href><D:href>/calendars/alice/</D:href></D:group-member-set>`;
    assert.equal((await proppatch('/principals/alice/', set)).status, 207);
    const r = await report('/principals/alice/', prop('group-member-set', DAV, prop('displayname')));
    assert.equal(r.status, 207, r.text);
    const members = propOf(topResponse(r.text), DAV, 'group-member-set')!;
    const responses = elements(members).filter((e) => is(e, DAV, 'response'));
    assert.deepEqual(responses.map(hrefOf), ['/principals/nobody/', '/calendars/alice/']);
    assert.match(textOf(child(responses[0]!, DAV, 'status')!), /^HTTP\/1.1 404 /);
    assert.ok(child(responses[1]!, DAV, 'propstat'), 'the existing resource has its properties');
    assert.deepEqual(elements(members).filter((e) => is(e, DAV, 'href')).map(textOf), ['mailto:bob@example.org']);
  });

  it(`a self-referencing property stops at depth ${MAX_DEPTH}`, async () => {
    let nested = prop('principal-URL');
    for (let i = 0; i < MAX_DEPTH + 5; i++) nested = prop('principal-URL', DAV, nested);
    const r = await report('/principals/alice/', nested);
    assert.equal(r.status, 207, r.text);
    assert.equal(count(r.text, /<D:response>/g), 1 + MAX_DEPTH, 'the target and MAX_DEPTH expanded levels');
    assert.equal(count(r.text, /<D:href>\/principals\/alice\/<\/D:href>/g), 2 + MAX_DEPTH, 'the deepest principal-URL is left as an href');
  });

  it(`at most ${MAX_RESOURCES} resources are expanded in one request; the rest stay hrefs`, async () => {
    const hrefs = Array.from({ length: MAX_RESOURCES + 30 }, () => `<D:href>/principals/alice/</D:href>`).join('');
    assert.equal((await proppatch('/principals/alice/', `<X:many xmlns:X="urn:x">${hrefs}</X:many>`)).status, 207);
    const r = await report('/principals/alice/', prop('many', 'urn:x', prop('displayname'), prop('many', 'urn:x', prop('displayname'))));
    assert.equal(r.status, 207, r.text);
    assert.equal(count(r.text, /<D:response>/g), 1 + MAX_RESOURCES);
  });
}));
