/**
 * REPORT addressbook-multiget (RFC 6352 §8.7): the requested properties (address-data usually) of
 * each href; an href that names no card in the target gets a 404 response in the 207. The Depth
 * header is ignored (the RFC says Depth 0, its examples send 1: erratum 4610). Absolute and
 * percent-encoded hrefs are accepted; an href outside the target address book is a 404.
 */
import { isWithin } from '../../../backends/backend.js';
import { mapOrdered } from '../../../backends/util/concurrency.js';
import { badRequest } from '../../dav/errors/dav-error.js';
import { hrefStatus, sendMultistatus } from '../../dav/multistatus.js';
import { propRequest } from '../../dav/propfind-core.js';
import type { ReportHandler } from '../../dav/reports.js';
import { timeSlicer } from '../../dav/time-slicer.js';
import { child, elements, is, textOf } from '../../dav/xml/parse.js';
import { NS } from '../../dav/xml/names.js';
import type { OutNode } from '../../dav/xml/write.js';
import { keptMembers } from '../../caldav/query-candidates.js';
import { card, type CardDavOptions } from '../context.js';
import { cardResponses, onAddressBookOrCard } from './members.js';

const MAX_HREFS = 10_000;

export function addressBookMultiget(o: CardDavOptions): ReportHandler {
  return {
    name: card('addressbook-multiget'),
    supportedOn: onAddressBookOrCard,

    async run(req, body, target) {
      const propEl = child(body, NS.DAV, 'prop');
      const request = propEl ? propRequest(propEl) : { kind: 'allprop' as const, include: [] };
      const hrefs = elements(body).filter((e) => is(e, NS.DAV, 'href')).map((e) => textOf(e).trim());
      if (hrefs.length === 0) throw badRequest('addressbook-multiget needs at least one DAV:href');
      if (hrefs.length > MAX_HREFS) throw badRequest(`addressbook-multiget takes at most ${MAX_HREFS} hrefs`);
      // Each response written straight to a string (or taken as kept bytes for plain requests).
      const writer = cardResponses(o, req, request);
      const responses: (OutNode | Buffer)[] = [];
      const pause = timeSlicer();
      // Once a query has kept the book's members current (git), each href is a look-up there, not a
      // stat (each of which reads the branch tip); anything not found there is stat'ed (caldav/query-candidates.ts).
      const members = target.isCollection ? await keptMembers(o.states, req, target.path) : null;
      // A few hrefs at a time: each is a look-up and a read, and on a cold cache those overlap.
      for await (const response of mapOrdered(hrefs, 8, async (href) => {
        const path = req.pathOfHref(href);
        const entry = path !== null && isWithin(path, target.path) ? (members?.get(path) ?? (await req.backend.stat(path))) : null;
        if (!entry || entry.kind !== 'file') return hrefStatus(href, 404);
        return writer.write(entry);
      })) {
        await pause();
        responses.push(response);
      }
      sendMultistatus(req.ctx, responses);
    },
  };
}
