/**
 * Discovery REPORTs that some clients send whether or not they are advertised (docs/caldav.md, "Client quirks"):
 * principal-property-search (RFC 3744 §9.4) searches the one principal; expand-property (RFC 3253
 * §3.8) is generic DAV: lib/dav/reports/expand-property.ts.
 */
import type { ReportHandler } from '../../dav/reports.js';
import { Resource } from '../../dav/properties/registry.js';
import { propResponse, type PropRequest } from '../../dav/propfind-core.js';
import { sendMultistatus } from '../../dav/multistatus.js';
import { child, clarkOf, elements, is, textOf } from '../../dav/xml/parse.js';
import { dav, NS } from '../../dav/xml/names.js';
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
