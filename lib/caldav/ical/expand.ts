/**
 * CALDAV:calendar-data in a REPORT (RFC 4791 §9.6): which parts of an object to return, and in what
 * shape. Always works on copies: the parsed object (maybe cached by ETag) is never changed.
 *
 * - selectComponents (§9.6.1–9.6.4): CALDAV:comp / prop / allcomp / allprop, taken literally — a
 *   comp without prop children returns the component without properties.
 * - expand (§9.6.5): every instance in the range as a component of its own, RECURRENCE-ID and all
 *   zoned date-times in UTC, no RRULE/RDATE/EXDATE, no VTIMEZONE; DATE values stay VALUE=DATE.
 * - limitRecurrenceSet (§9.6.6): the master plus only the overrides that touch the range.
 * - limitFreebusySet (§9.6.7): only the FREEBUSY periods that touch the range.
 *
 * When a request asks for none of these, return the stored bytes themselves, not a re-serialisation.
 */
import ICAL from 'ical.js';
import { elements, type XmlElement } from '../../dav/xml/parse.js';
import { NS } from '../../dav/xml/names.js';
import { CalendarQueryError } from './errors.js';
import { parseTimeRange } from './filter.js';
import type { CalendarObject } from './object.js';
import { componentInstance, isRecurring, occurrenceInstance, type Instance } from './recurrence.js';
import { instanceOverlaps, instancesInRange, timeRange, type TimeRange, type TimeRangeOptions } from './timerange.js';
import { spend } from './budget.js';
import { epochMs, toUtc, type IcalComponent, type IcalTime, type IcalTimezone } from './tz.js';

export interface PropSelection {
  /** Upper case, e.g. SUMMARY. */
  readonly name: string;
  /** novalue="yes": the property without its value. */
  readonly novalue: boolean;
}

export interface ComponentSelection {
  /** Upper case, e.g. VEVENT. */
  readonly name: string;
  /** 'all' for CALDAV:allprop; otherwise the named properties (none when empty). */
  readonly props: 'all' | readonly PropSelection[];
  /** 'all' for CALDAV:allcomp; otherwise the named components (none when empty). */
  readonly comps: 'all' | readonly ComponentSelection[];
}

export interface CalendarDataRequest {
  /** Null: the whole VCALENDAR. */
  readonly selection: ComponentSelection | null;
  readonly expand: TimeRange | null;
  readonly limitRecurrenceSet: TimeRange | null;
  readonly limitFreebusySet: TimeRange | null;
}

export type ShapeOptions = TimeRangeOptions;

const badRequest = (message: string) => new CalendarQueryError(400, null, message);

// ---------------------------------------------------------------------------------------------
// The request

/** Parses a CALDAV:calendar-data element of a REPORT's DAV:prop. */
export function parseCalendarDataRequest(el: XmlElement): CalendarDataRequest {
  const contentType = (el.attrs.get('content-type') ?? 'text/calendar').trim().toLowerCase();
  const version = (el.attrs.get('version') ?? '2.0').trim();
  if (contentType !== 'text/calendar' || version !== '2.0') {
    throw new CalendarQueryError(403, 'supported-calendar-data', `calendar-data as ${contentType} ${version} is not supported`);
  }
  let selection: ComponentSelection | null = null;
  let expand: TimeRange | null = null;
  let limitRecurrenceSet: TimeRange | null = null;
  let limitFreebusySet: TimeRange | null = null;
  for (const c of elements(el)) {
    if (c.ns !== NS.CALDAV) continue;
    switch (c.local) {
      case 'comp':
        if (selection) throw badRequest('calendar-data holds one comp');
        selection = parseComp(c);
        if (selection.name !== 'VCALENDAR') throw badRequest(`the top-level comp must be VCALENDAR, not ${selection.name}`);
        break;
      case 'expand':
        expand = parseTimeRange(c, { requireBoth: true });
        break;
      case 'limit-recurrence-set':
        limitRecurrenceSet = parseTimeRange(c, { requireBoth: true });
        break;
      case 'limit-freebusy-set':
        limitFreebusySet = parseTimeRange(c, { requireBoth: true });
        break;
      default:
        throw badRequest(`CALDAV:${c.local} is not allowed in calendar-data`);
    }
  }
  if (expand && limitRecurrenceSet) throw badRequest('expand and limit-recurrence-set exclude each other');
  return { selection, expand, limitRecurrenceSet, limitFreebusySet };
}

function parseComp(el: XmlElement): ComponentSelection {
  const name = el.attrs.get('name')?.trim().toUpperCase();
  if (!name) throw badRequest('CALDAV:comp needs a name');
  const kids = elements(el).filter((k) => k.ns === NS.CALDAV);
  const allprop = kids.some((k) => k.local === 'allprop');
  const allcomp = kids.some((k) => k.local === 'allcomp');
  const props: PropSelection[] = [];
  const comps: ComponentSelection[] = [];
  for (const k of kids) {
    if (k.local === 'prop') {
      const propName = k.attrs.get('name')?.trim().toUpperCase();
      if (!propName) throw badRequest('CALDAV:prop needs a name');
      props.push({ name: propName, novalue: (k.attrs.get('novalue') ?? 'no').trim().toLowerCase() === 'yes' });
    } else if (k.local === 'comp') {
      comps.push(parseComp(k));
    } else if (k.local !== 'allprop' && k.local !== 'allcomp') {
      throw badRequest(`CALDAV:${k.local} is not allowed in CALDAV:comp`);
    }
  }
  if (allprop && props.length) throw badRequest(`comp ${name}: allprop or prop, not both`);
  if (allcomp && comps.length) throw badRequest(`comp ${name}: allcomp or comp, not both`);
  return { name, props: allprop ? 'all' : props, comps: allcomp ? 'all' : comps };
}

// ---------------------------------------------------------------------------------------------
// Shaping

/** Applies a whole calendar-data request: expand or limit first, then the selection. */
export function shapeCalendarData(object: CalendarObject, request: CalendarDataRequest, options: ShapeOptions = {}): string {
  let root = request.expand
    ? expandedCalendar(object, request.expand, options)
    : request.limitRecurrenceSet
      ? limitedCalendar(object, request.limitRecurrenceSet, options)
      : copy(object.vcalendar);
  if (request.limitFreebusySet) limitFreebusy(root, request.limitFreebusySet, options.floatingTimezone ?? null);
  if (request.selection) root = select(root, request.selection);
  return text(root);
}

/** §9.6.1: only the requested components and properties. */
export function selectComponents(object: CalendarObject, selection: ComponentSelection): string {
  return text(select(copy(object.vcalendar), selection));
}

/** §9.6.5: the recurrence set expanded into the instances overlapping [start, end). */
export function expand(object: CalendarObject, start: Date, end: Date, options: ShapeOptions = {}): string {
  return text(expandedCalendar(object, timeRange(start, end), options));
}

/** §9.6.6: the master and the overridden instances that touch [start, end). */
export function limitRecurrenceSet(object: CalendarObject, start: Date, end: Date, options: ShapeOptions = {}): string {
  return text(limitedCalendar(object, timeRange(start, end), options));
}

/** §9.6.7: only FREEBUSY periods that overlap [start, end). */
export function limitFreebusySet(object: CalendarObject, start: Date, end: Date, options: ShapeOptions = {}): string {
  const root = copy(object.vcalendar);
  limitFreebusy(root, timeRange(start, end), options.floatingTimezone ?? null);
  return text(root);
}

function text(root: IcalComponent): string {
  return `${root.toString()}\r\n`;
}

function copy(component: IcalComponent): IcalComponent {
  return new ICAL.Component(structuredClone(component.jCal));
}

function select(root: IcalComponent, selection: ComponentSelection): IcalComponent {
  return new ICAL.Component(prune(root.jCal as JCal, selection));
}

type JCalProp = [string, Record<string, unknown>, string, ...unknown[]];
type JCal = [string, JCalProp[], JCal[]];

function prune(jcal: JCal, sel: ComponentSelection): JCal {
  const [name, props, comps] = jcal;
  const keptProps: JCalProp[] = [];
  for (const p of props) {
    if (sel.props === 'all') {
      keptProps.push(structuredClone(p));
      continue;
    }
    const wanted = sel.props.find((s) => s.name.toLowerCase() === p[0]);
    if (!wanted) continue;
    keptProps.push(wanted.novalue ? [p[0], structuredClone(p[1]), p[2], ''] : structuredClone(p));
  }
  const keptComps: JCal[] = [];
  for (const c of comps) {
    if (sel.comps === 'all') {
      keptComps.push(structuredClone(c));
      continue;
    }
    const wanted = sel.comps.find((s) => s.name.toLowerCase() === c[0]);
    if (wanted) keptComps.push(prune(c, wanted));
  }
  return [name, keptProps, keptComps];
}

// ---------------------------------------------------------------------------------------------
// expand

function expandedCalendar(object: CalendarObject, range: TimeRange, options: ShapeOptions): IcalComponent {
  const floating = options.floatingTimezone ?? null;
  const root = new ICAL.Component(['vcalendar', structuredClone(object.vcalendar.jCal[1]), []]);
  for (const inst of instancesInRange(object, range, options).instances) root.addSubcomponent(instanceComponent(inst, floating));
  return root;
}

/** One instance as a stand-alone component: times in UTC, recurrence properties gone. */
function instanceComponent(inst: Instance, floating: IcalTimezone | null): IcalComponent {
  spend();
  const c = copy(inst.component);
  zonedToUtc(inst.component, c, floating);
  for (const name of ['rrule', 'rdate', 'exdate', 'exrule']) c.removeAllProperties(name);
  if (inst.recurrenceId) setTime(c, 'recurrence-id', toUtc(inst.recurrenceId, floating)).removeParameter('range');
  if (inst.start) setTime(c, 'dtstart', toUtc(inst.start, floating));
  if (inst.end) {
    setTime(c, 'dtend', toUtc(inst.end, floating));
    c.removeAllProperties('duration'); // an RDATE period's end replaces the master's DURATION
  }
  if (inst.due) setTime(c, 'due', toUtc(inst.due, floating));
  return c;
}

function setTime(c: IcalComponent, name: string, value: IcalTime) {
  const prop = c.getFirstProperty(name) ?? c.addPropertyWithValue(name, value);
  prop.removeParameter('tzid');
  prop.setValue(value);
  return prop;
}

/**
 * Every date-time with a TZID converted to UTC, in `target` (a copy of `source` that, detached
 * from its VCALENDAR, can no longer resolve the TZIDs itself).
 */
function zonedToUtc(source: IcalComponent, target: IcalComponent, floating: IcalTimezone | null): void {
  const from = source.getAllProperties();
  const to = target.getAllProperties();
  from.forEach((prop, i) => {
    const tzid = prop.getFirstParameter('tzid');
    if (!tzid) return;
    let values = prop.getValues();
    if (!values.every((v) => v instanceof ICAL.Time)) {
      // an X- property ical.js reads as text: a TZID says it is a date-time all the same
      const zone = source.getTimeZoneByID(tzid) ?? (ICAL.TimezoneService.has(tzid) ? ICAL.TimezoneService.get(tzid) : null);
      const parsed = zone ? values.map((v) => localDateTime(v, zone)) : [];
      if (!parsed.length || parsed.some((t) => t === null)) return;
      values = parsed;
      to[i]!.resetType('date-time');
    }
    const target = to[i]!;
    target.removeParameter('tzid');
    const utc = values.map((v: IcalTime) => toUtc(v, floating));
    // ical.js refuses setValues on single-valued properties (DTSTART), even with one value
    if (target.isMultiValue) target.setValues(utc);
    else target.setValue(utc[0]);
  });
  const subFrom = source.getAllSubcomponents();
  const subTo = target.getAllSubcomponents();
  subFrom.forEach((s, i) => zonedToUtc(s, subTo[i]!, floating));
}

/** `20240701T080000` in `zone`, or null. */
function localDateTime(value: unknown, zone: ICAL.Timezone): IcalTime | null {
  const m = typeof value === 'string' ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$/.exec(value) : null;
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return ICAL.Time.fromData({ year, month, day, hour, minute, second, isDate: false }, zone);
}

// ---------------------------------------------------------------------------------------------
// limit-recurrence-set, limit-freebusy-set

function limitedCalendar(object: CalendarObject, range: TimeRange, options: ShapeOptions): IcalComponent {
  const root = copy(object.vcalendar);
  const { master } = object;
  if (!master || !isRecurring(master)) return root;
  const floating = options.floatingTimezone ?? null;
  const type = object.componentType;
  const drop = new Set<number>();
  object.vcalendar.getAllSubcomponents().forEach((c, i) => {
    if (!object.overrides.includes(c)) return;
    const ridProp = c.getFirstProperty('recurrence-id')!;
    const rid = ridProp.getFirstValue() as IcalTime;
    // RANGE=THISANDFUTURE changes every instance after it: it touches any range that ends later
    const future = String(ridProp.getFirstParameter('range') ?? '').toUpperCase() === 'THISANDFUTURE';
    const touches = instanceOverlaps(type, componentInstance(c), range, floating)
      || instanceOverlaps(type, occurrenceInstance(master, rid), range, floating)
      || (future && epochMs(rid, floating) < range.end);
    if (!touches) drop.add(i);
  });
  // Rebuilt rather than removed one by one: getAllSubcomponents() hands out ical.js's own cache
  // array, which each removeSubcomponent() splices under the caller's feet.
  const [name, props, comps] = root.jCal as JCal;
  return new ICAL.Component([name, props, comps.filter((_, i) => !drop.has(i))]);
}

function limitFreebusy(root: IcalComponent, range: TimeRange, floating: IcalTimezone | null): void {
  for (const fb of root.getAllSubcomponents('vfreebusy')) {
    // FREEBUSY periods are always UTC (RFC 5545 §3.8.2.6): the copy reads them without its zones
    for (const prop of fb.getAllProperties('freebusy')) {
      const kept = prop.getValues().filter((p) =>
        p instanceof ICAL.Period && range.start < epochMs(p.getEnd(), floating) && range.end > epochMs(p.start, floating));
      if (kept.length) prop.setValues(kept);
      else fb.removeProperty(prop);
    }
  }
}
