/**
 * The CalDAV layer (RFC 4791), installed on top of a DAV mount: calendar collections are stored
 * collections of a stored type, so everything generic (PROPFIND, sync-collection, locks, history)
 * works on them unchanged; this layer adds discovery, MKCALENDAR, validation and calendar REPORTs.
 */
import type { Dav } from '../dav/context.js';
import { CALENDAR, PRINCIPAL, DEFAULT_CALDAV_OPTIONS, cal, type CalDavOptions } from './context.js';
import { caldavProperties } from './properties.js';
import { mkcalendar } from './methods/mkcalendar.js';
import { calendarGet } from './methods/get.js';
import { ensureUserCollections } from './setup.js';
import { calendarDataProperty } from './calendar-data.js';
import { calendarMultiget } from './reports/multiget.js';
import { calendarQuery } from './reports/query.js';
import { freeBusyQuery } from './reports/freebusy.js';
import { principalPropertySearch } from './reports/principals.js';
import { expandProperty } from '../dav/reports/expand-property.js';
import { calendarPutHook } from './put-hook.js';
import { calendarTransferHook } from './transfer-hook.js';
import { calendarDeleteHook } from './delete-hook.js';
import { calendarCollectionHook } from './mkcol-hook.js';
import { calendarContentType } from './content-type.js';
import { calDavErrors } from './errors.js';
import { CalDavStates } from './state/states.js';
import { acquireCalendarPool, releaseCalendarPool } from './bounds-pool.js';

/**
 * CalDAV on `dav`. Its state lives in `options.states`, the server's registry, which every mount on
 * the same trees shares and the server closes; without one (a Dav made on its own, as in tests) the
 * Dav gets a registry of its own, closed by `dav.close()`.
 */
export async function installCalDav(dav: Dav, options: Partial<CalDavOptions> = {}): Promise<CalDavOptions> {
  const states = options.states ?? new CalDavStates();
  if (!options.states) dav.closeHooks.push(() => states.close());
  const o: CalDavOptions = { ...DEFAULT_CALDAV_OPTIONS, ...options, states };
  dav.compliance.push('calendar-access');
  dav.resourceTypes.add(CALENDAR);
  dav.resourceTypes.add(PRINCIPAL);
  dav.creationOnly.add(cal('supported-calendar-component-set'));
  dav.props.register(...caldavProperties(o), calendarDataProperty(o));
  dav.contentType = calendarContentType(dav.contentType, states);
  dav.reports.register(calendarMultiget(o), calendarQuery(o), freeBusyQuery(o), principalPropertySearch(o), expandProperty);
  dav.putHooks.push(calendarPutHook(o));
  dav.transferHooks.push(calendarTransferHook(o));
  dav.deleteHooks.push(calendarDeleteHook(o));
  dav.collectionHooks.push(calendarCollectionHook);
  dav.errorMappers.push(calDavErrors);
  dav.methods.set('MKCALENDAR', mkcalendar);
  dav.methods.set('GET', calendarGet(dav.methods.get('GET')!, false, states));
  dav.methods.set('HEAD', calendarGet(dav.methods.get('HEAD')!, true, states));
  if (!o.noSetup) await ensureUserCollections(dav.backend, o);
  // The process's calendar threads, ended when the last mount using them closes; taken only once the
  // mount is made (a setup that throws would hold them for good: nothing closes a mount never returned).
  o.pool = options.pool ?? acquireCalendarPool(dav.options.limits.calendarThreads);
  if (!options.pool) dav.closeHooks.push(() => releaseCalendarPool());
  return o;
}

export { wellKnown } from './well-known.js';
export type { CalDavOptions } from './context.js';
export { CalDavStates } from './state/states.js';
