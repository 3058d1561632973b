/**
 * CalDAV and discovery properties (RFC 4791 §5-6, RFC 5397, RFC 3744 as far as clients need, and
 * CalendarServer's getctag), registered into the DAV layer's property table.
 */
import { isShareAware, isSyncCapable } from '../../backends/capabilities.js';
import type { LiveProperty, Resource } from '../dav/properties/registry.js';
import { hasType } from '../dav/resource-types.js';
import { elements, parseXml } from '../dav/xml/parse.js';
import { el, elA, elementToXml, RawXml, type OutNode } from '../dav/xml/write.js';
import { dav } from '../dav/xml/names.js';
import { CALENDAR, MAX_DATE_TIME, MIN_DATE_TIME, PRINCIPAL, cal, cs, icalUtc, paths, type CalDavOptions } from './context.js';

const everywhere = () => true;

export function caldavProperties(o: CalDavOptions): LiveProperty[] {
  const p = paths(o);
  const principalHref = (r: Resource) => [el(dav('href'), r.req.href(p.principal, true))];
  // RFC 5397 §3: a request without a login (anonymous read-only access) has no principal.
  const anonymous = (r: Resource) => r.req.ctx.state.anonymous === true;
  // appliesTo must be synchronous: it admits collections; get() checks the stored type.
  const isCalendar = (r: Resource) => r.isCollection;
  const onCalendar = (value: (r: Resource) => OutNode[] | Promise<OutNode[]>) => async (r: Resource) => ((await hasType(r, CALENDAR)) ? value(r) : null);
  const onPrincipal = (value: (r: Resource) => OutNode[]) => async (r: Resource) => ((await hasType(r, PRINCIPAL)) ? value(r) : null);
  const privileges = ['read', 'write', 'write-properties', 'write-content', 'unlock', 'bind', 'unbind', 'read-current-user-privilege-set'];
  // RFC 3744 §3: in another user's collection shared for writing, everything but lifting their
  // locks (on the collection itself, properties set are the grantee's own layer: see backends/mount/view.ts).
  const inShare = privileges.filter((p) => p !== 'unlock');
  const readOnly = ['read', 'read-current-user-privilege-set'];
  const privilegesOf = (r: Resource): string[] => {
    if (anonymous(r)) return readOnly;
    const backend = r.req.backend;
    const shared = isShareAware(backend) ? backend.shareAccess(r.path) : null;
    if (!shared) return privileges;
    return shared === 'read' ? readOnly : inShare;
  };

  return [
    // RFC 5397: on every resource, so a client can start discovery anywhere.
    { name: dav('current-user-principal'), inAllprop: false, protected: true, appliesTo: everywhere, get: (r) => (anonymous(r) ? [el(dav('unauthenticated'))] : principalHref(r)) },
    { name: dav('principal-collection-set'), inAllprop: false, protected: true, get: (r) => [el(dav('href'), r.req.href(p.principals, true))] },
    // RFC 3744 §5.1: whose resource it is; another user's for what they share with this one.
    {
      name: dav('owner'),
      inAllprop: false,
      protected: true,
      get: (r) => {
        const backend = r.req.backend;
        const other = isShareAware(backend) ? backend.ownerOf(r.path) : undefined;
        return other ? [el(dav('href'), r.req.href(`${p.principals}/${other}`, true))] : principalHref(r);
      },
    },
    {
      name: dav('current-user-privilege-set'),
      inAllprop: false,
      protected: true,
      // Clients go read-only without `write`/`write-content`: a user owns everything in their own
      // tree; what others share says what they granted; anonymous requests read.
      get: (r) => privilegesOf(r).map((name) => el(dav('privilege'), el(dav(name)))),
    },
    { name: dav('principal-URL'), inAllprop: false, protected: true, appliesTo: isCalendar, get: onPrincipal(principalHref) },
    { name: cal('calendar-home-set'), inAllprop: false, protected: true, appliesTo: isCalendar, get: onPrincipal((r) => [el(dav('href'), r.req.href(p.home, true))]) },
    {
      name: cal('calendar-user-address-set'),
      inAllprop: false,
      protected: true,
      appliesTo: isCalendar,
      get: onPrincipal((r) => [el(dav('href'), `mailto:${o.email}`), el(dav('href'), r.req.href(p.principal, true))]),
    },
    {
      name: cal('supported-calendar-component-set'),
      inAllprop: false,
      protected: true,
      appliesTo: isCalendar,
      get: onCalendar(async (r) => (await storedChildren(r, cal('supported-calendar-component-set'))) ?? ['VEVENT', 'VTODO', 'VJOURNAL'].map((n) => elA(cal('comp'), { name: n }))),
    },
    {
      name: cal('supported-calendar-data'),
      inAllprop: false,
      protected: true,
      appliesTo: isCalendar,
      get: onCalendar(() => [elA(cal('calendar-data'), { 'content-type': 'text/calendar', version: '2.0' })]),
    },
    { name: cal('max-resource-size'), inAllprop: false, protected: true, appliesTo: isCalendar, get: onCalendar(() => [String(o.maxResourceSize)]) },
    { name: cal('max-instances'), inAllprop: false, protected: true, appliesTo: isCalendar, get: onCalendar(() => [String(o.maxInstances)]) },
    { name: cal('min-date-time'), inAllprop: false, protected: true, appliesTo: isCalendar, get: onCalendar(() => [icalUtc(MIN_DATE_TIME)]) },
    { name: cal('max-date-time'), inAllprop: false, protected: true, appliesTo: isCalendar, get: onCalendar(() => [icalUtc(MAX_DATE_TIME)]) },
    {
      name: cal('supported-collation-set'),
      inAllprop: false,
      protected: true,
      appliesTo: isCalendar,
      get: onCalendar(() => ['i;ascii-casemap', 'i;octet', 'i;unicode-casemap'].map((c) => el(cal('supported-collation'), c))),
    },
    {
      // CalendarServer's ctag: changes whenever anything in the calendar does.
      name: cs('getctag'),
      inAllprop: false,
      protected: true,
      appliesTo: isCalendar,
      get: onCalendar(collectionCtag),
    },
  ];
}

/** A collection's ctag: its sync token where the backend has them, else its ETag (address books use it too). */
export async function collectionCtag(r: Resource): Promise<OutNode[]> {
  const backend = r.req.backend;
  return [isSyncCapable(backend) ? await backend.syncToken(r.path) : r.entry.etag];
}

/** The children of a stored (dead) property's element, e.g. the comps of a component set. */
async function storedChildren(r: Resource, name: string): Promise<OutNode[] | null> {
  const stored = (await r.deadProps()).get(name);
  if (!stored) return null;
  return elements(parseXml(stored)).map((c) => new RawXml(elementToXml(c, false)));
}
