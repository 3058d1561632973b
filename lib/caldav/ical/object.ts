/**
 * One calendar object resource (RFC 4791 §4.1): a VCALENDAR holding the components of one UID — a
 * master and its overridden instances (RECURRENCE-ID) — of one type, plus the VTIMEZONEs they use.
 *
 * Parsing is structural: it refuses what cannot be treated as one calendar object (not iCalendar,
 * two UIDs, two component types, two masters). Policy (METHOD, size, supported components, date
 * limits, a required UID) is validate.ts's job, so stored objects that predate a policy still load.
 */
import ICAL from 'ical.js';
import { CalendarPreconditionError } from './errors.js';
import { attachTimezones, normalizeJcal, type IcalComponent, type IcalTimezone } from './tz.js';
import { checkStructure } from './structure.js';
import { spend, StepBudgetExceeded } from './budget.js';

export { CalendarPreconditionError, type CalendarPrecondition } from './errors.js';

/** The component types a calendar collection can hold (RFC 4791 §5.2.3). */
export const CALENDAR_COMPONENTS = ['VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY'] as const;
export type CalendarComponentType = (typeof CALENDAR_COMPONENTS)[number];

export interface CalendarObject {
  /** The root VCALENDAR; TZIDs resolve against its VTIMEZONEs. Treat it as read-only. */
  readonly vcalendar: IcalComponent;
  readonly componentType: CalendarComponentType;
  /** The UID shared by every component; null when the components carry none (validate refuses that). */
  readonly uid: string | null;
  /**
   * The component without RECURRENCE-ID. Null when the object holds only overridden instances, as an
   * invitation to some instances of a series does (RFC 6638 §3.2.6).
   */
  readonly master: IcalComponent | null;
  /** The overridden instances (components with RECURRENCE-ID), in document order. */
  readonly overrides: readonly IcalComponent[];
  /** The object's own time zones by (trimmed) TZID. */
  readonly timezones: ReadonlyMap<string, IcalTimezone>;
}

/** Components that may only appear nested (or are not iCalendar at all): never a resource's content. */
const NOT_TOP_LEVEL = new Set(['vcalendar', 'vcard', 'valarm', 'standard', 'daylight', 'available']);

type JCal = [string, unknown[], unknown[]];

export function parseCalendarObject(text: string): CalendarObject {
  const vcalendar = parseVcalendar(text);

  let type: CalendarComponentType | null = null;
  const components: IcalComponent[] = [];
  for (const c of vcalendar.getAllSubcomponents()) {
    const name = c.name;
    if (name === 'vtimezone' || name.startsWith('x-')) continue;
    if (NOT_TOP_LEVEL.has(name)) {
      throw new CalendarPreconditionError('valid-calendar-object-resource', `${name.toUpperCase()} cannot be a calendar component`);
    }
    const upper = name.toUpperCase();
    if (!(CALENDAR_COMPONENTS as readonly string[]).includes(upper)) {
      throw new CalendarPreconditionError('supported-calendar-component', `${upper} components are not supported`);
    }
    if (type && type !== upper) {
      throw new CalendarPreconditionError('valid-calendar-object-resource', `one resource mixes ${type} and ${upper}`);
    }
    type = upper as CalendarComponentType;
    components.push(c);
  }
  if (!type) throw new CalendarPreconditionError('valid-calendar-object-resource', 'no VEVENT, VTODO, VJOURNAL or VFREEBUSY');

  const timezones = attachTimezones(vcalendar);
  hydrate(vcalendar);

  const uids = new Set<string>();
  let missingUid = false;
  for (const c of components) {
    const uid = c.getFirstPropertyValue('uid');
    if (typeof uid === 'string' && uid !== '') uids.add(uid);
    else missingUid = true;
  }
  if (uids.size > 1) {
    throw new CalendarPreconditionError('valid-calendar-object-resource', `more than one UID: ${[...uids].join(', ')}`);
  }
  if (missingUid && uids.size === 1 && components.length > 1) {
    throw new CalendarPreconditionError('valid-calendar-object-resource', 'a component without UID beside one with a UID');
  }

  let master: IcalComponent | null = null;
  const overrides: IcalComponent[] = [];
  const seen = new Set<string>();
  for (const c of components) {
    const rid = c.getFirstPropertyValue('recurrence-id');
    if (rid === null) {
      if (master) throw new CalendarPreconditionError('valid-calendar-object-resource', `two ${type} components without RECURRENCE-ID`);
      master = c;
      continue;
    }
    if (!(rid instanceof ICAL.Time)) throw new CalendarPreconditionError('valid-calendar-data', 'RECURRENCE-ID is not a date or date-time');
    const key = rid.isDate ? `d${rid.toICALString()}` : `t${rid.toUnixTime()}`;
    if (seen.has(key)) throw new CalendarPreconditionError('valid-calendar-object-resource', `two overrides for RECURRENCE-ID ${rid.toICALString()}`);
    seen.add(key);
    overrides.push(c);
  }

  return { vcalendar, componentType: type, uid: [...uids][0] ?? null, master, overrides, timezones };
}

function parseVcalendar(text: string): IcalComponent {
  const body = text.replace(/^\uFEFF/, '');
  if (!/^\s*BEGIN:/i.test(body)) throw new CalendarPreconditionError('valid-calendar-data', 'not iCalendar data');
  checkStructure(body); // depth, recurrence rules and time zones, before ical.js sees them
  let jcal: unknown;
  try {
    jcal = ICAL.parse(body);
  } catch (err) {
    throw new CalendarPreconditionError('valid-calendar-data', `not valid iCalendar: ${(err as Error).message}`, { cause: err });
  }
  // ICAL.parse returns one component, or an array of them when the text has several.
  const roots = (Array.isArray(jcal) && Array.isArray(jcal[0]) ? jcal : [jcal]) as JCal[];
  if (roots.length !== 1 || !Array.isArray(roots[0]) || roots[0][0] !== 'vcalendar') {
    const what = roots.length === 1 && typeof roots[0]?.[0] === 'string' ? roots[0][0].toUpperCase() : `${roots.length} components`;
    throw new CalendarPreconditionError('valid-calendar-data', `expected one VCALENDAR, found ${what}`);
  }
  normalizeJcal(roots[0] as never);
  return new ICAL.Component(roots[0]);
}

/**
 * Reads every value once, so a malformed one (a bad date, an RRULE with BYHOUR=25) fails here as
 * valid-calendar-data rather than later in the middle of a REPORT.
 */
function hydrate(component: IcalComponent): void {
  for (const prop of component.getAllProperties()) {
    spend();
    try {
      prop.getValues();
    } catch (err) {
      if (err instanceof StepBudgetExceeded) throw err;
      throw new CalendarPreconditionError('valid-calendar-data',
        `bad ${prop.name.toUpperCase()} in ${component.name.toUpperCase()}: ${(err as Error).message}`, { cause: err });
    }
  }
  for (const c of component.getAllSubcomponents()) hydrate(c);
}
