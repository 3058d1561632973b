/** What the CalDAV layer knows about its user (one per mount: the configured one, or each logged-in user), its limits, and where its state lives. */
import { clark, NS } from '../dav/xml/names.js';
import type { CalDavStates } from './state/states.js';
import type { CalendarPool } from './bounds-pool.js';

export interface CalDavOptions {
  /** The principal's name: /principals/<user>/, /calendars/<user>/. */
  user: string;
  /** For calendar-user-address-set (mailto:). */
  email: string;
  /** Make no principal, home or default calendar at start (a --read-only server changes nothing). */
  noSetup?: boolean;
  /** Largest calendar object accepted, bytes. */
  maxResourceSize: number;
  /** Most instances a recurrence may expand to while filtering (unbounded rules stop there). */
  maxInstances: number;
  /**
   * Where CalDAV keeps the state of each tree it stores calendars in (state/states.ts): the server's
   * registry, shared by every mount on those trees. installCalDav makes one when none is given.
   */
  states: CalDavStates;
  /** Threads that parse objects for the object index (bounds-pool.ts); installCalDav sets the process's pool. */
  pool?: CalendarPool;
}

export const DEFAULT_CALDAV_OPTIONS: Omit<CalDavOptions, 'states'> = {
  user: 'user',
  email: 'user@localhost',
  maxResourceSize: 10 * 1024 * 1024,
  maxInstances: 5000,
};

export const cal = (local: string) => clark(NS.CALDAV, local);

/** The range of dates accepted in calendar objects (CALDAV:min-date-time / max-date-time). */
export const MIN_DATE_TIME = new Date('1900-01-01T00:00:00Z');
export const MAX_DATE_TIME = new Date('2100-12-31T23:59:59Z');
export const icalUtc = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
export const cs = (local: string) => clark(NS.CALSERVER, local);

export const CALENDAR = cal('calendar');
export const PRINCIPAL = clark(NS.DAV, 'principal');

export const paths = (o: CalDavOptions) => ({
  principals: '/principals',
  principal: `/principals/${o.user}`,
  homes: '/calendars',
  home: `/calendars/${o.user}`,
  defaultCalendar: `/calendars/${o.user}/calendar`,
});
