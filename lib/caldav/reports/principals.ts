/**
 * Discovery REPORTs that some clients send whether or not they are advertised (docs/caldav.md, "Client quirks"):
 * principal-property-search (RFC 3744 §9.4) searches the one principal; expand-property (RFC 3253
 * §3.8) answers the named properties of the target (nested hrefs are not expanded yet).
 */
import type { ReportHandler } from '../../dav/reports.js';
import { Resource } from '../../dav/properties/registry.js';
import { propResponse, type PropRequest } from '../../dav/propfind-core.js';
import { sendMultistatus } from '../../dav/multistatus.js';
import { child, clarkOf, elements, is, textOf, type XmlElement } from '../../dav/xml/parse.js';
import { clark, dav, NS } from '../../dav/xml/names.js';
import { paths, type CalDavOptions } from '../context.js';

export function principalPropertySearch(o: CalDavOptions): ReportHandler {
  return {
    name: dav('principal-property-search'),
    supportedOn: () => true,
    async run(req, body) {
      const principal = await req.backend.stat(paths(o).principal);
      const searches = elements(body).filter((e) => is(e, NS.DAV, 'property-search'));
      const test = (value: string) => searches.every((srch) => {
        const match = child(srch, NS.DAV, 'match');
        return !match || value.toLowerCase().includes(textOf(match).toLowerCase());
      });
      const hit = principal && test(`${o.user} ${o.email} mailto:${o.email}`);
      const propEl = child(body, NS.DAV, 'prop');
      const request: PropRequest = { kind: 'prop', names: propEl ? elements(propEl).map(clarkOf) : [dav('displayname')] };
      sendMultistatus(req.ctx, hit ? [await propResponse(new Resource(req, principal), request, { minimal: false })] : []);
    },
  };
}

export const expandProperty: ReportHandler = {
  name: dav('expand-property'),
  supportedOn: () => true,
  async run(req, body, target) {
    const wanted = elements(body).filter((e) => is(e, NS.DAV, 'property'));
    const names = wanted.map(propertyName);
    const response = await propResponse(target, { kind: 'prop', names }, { minimal: false });
    sendMultistatus(req.ctx, [response]);
  },
};

function propertyName(e: XmlElement): string {
  return clark(e.attrs.get('namespace') ?? NS.DAV, e.attrs.get('name') ?? '');
}
