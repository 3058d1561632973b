/**
 * CALDAV:filter (RFC 4791 §9.7): the XML element parsed into a model once, then evaluated against
 * calendar objects.
 *
 * Parsing refuses what cannot be answered correctly instead of guessing: an unknown CalDAV element
 * or collation is 403 (supported-filter / supported-collation), a malformed one 400 (valid-filter).
 * Elements in other namespaces are ignored, as RFC 4918 §17 asks of unknown XML.
 *
 * Evaluation follows §9.7.1: a comp-filter with a time-range matches when some recurrence instance
 * overlaps the range and that same instance (its master or override component) satisfies the nested
 * filters; a nested VALARM time-range is judged against that instance's times. Instance-valued
 * properties (DTSTART, DTEND, DUE, RECURRENCE-ID) under a time-range are the instance's values.
 */
import { child, elements, is, textOf, type XmlElement } from '../../dav/xml/parse.js';
import { NS } from '../../dav/xml/names.js';
import { checkFilterSize, ownElements as ownFilterElements, type FilterNamespace } from '../../dav/xml/filter-elements.js';
import { collationContains, DEFAULT_COLLATION, isCollation, type Collation } from './collation.js';
import { CalendarQueryError } from './errors.js';
import type { CalendarObject } from './object.js';
import { componentInstance, instances, type ExpansionOptions, type Instance } from './recurrence.js';
import {
  alarmOverlaps,
  alarmReach,
  freeBusyOverlaps,
  instanceOverlaps,
  valueOverlaps,
  windowFor,
  ALL_TIME,
  type TimeRange,
} from './timerange.js';
import { parseUtcDateTime, type IcalComponent, type IcalTimezone } from './tz.js';
import { MAX_COMPONENT_DEPTH } from './structure.js';
import { spend } from './budget.js';

export { CalendarQueryError } from './errors.js';

export interface TextMatch {
  readonly text: string;
  readonly collation: Collation;
  /** negate-condition="yes": matches when the text does not occur. */
  readonly negate: boolean;
}

export interface ParamFilter {
  /** Upper case, e.g. PARTSTAT. */
  readonly name: string;
  readonly isNotDefined: boolean;
  readonly textMatch: TextMatch | null;
}

export interface PropFilter {
  /** Upper case, e.g. SUMMARY. */
  readonly name: string;
  readonly isNotDefined: boolean;
  readonly timeRange: TimeRange | null;
  readonly textMatch: TextMatch | null;
  readonly paramFilters: readonly ParamFilter[];
}

export interface CompFilter {
  /** Upper case, e.g. VEVENT. */
  readonly name: string;
  readonly isNotDefined: boolean;
  readonly timeRange: TimeRange | null;
  readonly propFilters: readonly PropFilter[];
  readonly compFilters: readonly CompFilter[];
}

/** The filter's one top-level comp-filter, always named VCALENDAR. */
export type CalendarFilter = CompFilter;

/** Components §9.9 defines a time-range test for. */
const TIME_RANGE_COMPONENTS = new Set(['VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY', 'VALARM']);
const RECURRING = new Set(['VEVENT', 'VTODO', 'VJOURNAL']);
/** Properties whose value differs per recurrence instance. */
const INSTANCE_PROPERTIES = new Set(['DTSTART', 'DTEND', 'DUE', 'RECURRENCE-ID']);

const invalid = (message: string) => new CalendarQueryError(400, 'valid-filter', message);
const unsupported = (message: string) => new CalendarQueryError(403, 'supported-filter', message);
const CALDAV_FILTER: FilterNamespace = { ns: NS.CALDAV, prefix: 'CALDAV' };

// ---------------------------------------------------------------------------------------------
// Parsing

/** Default of `limits.maxFilterElements`: real clients send fewer than 20. */
export const DEFAULT_MAX_FILTER_ELEMENTS = 500;
/** Deepest filter accepted: comp-filters as deep as components nest, then prop, param and match. */
export const MAX_FILTER_DEPTH = MAX_COMPONENT_DEPTH + 4;

export interface FilterLimits {
  /** Most elements (of any namespace) inside CALDAV:filter. */
  maxElements?: number;
}

/**
 * Parses a CALDAV:filter element. A filter larger or deeper than any real one is refused up front
 * (403 CALDAV:supported-filter: RFC 4791 has no condition for size, and this one says "this server
 * does not evaluate that filter"), since its evaluation costs its size for every object.
 */
export function parseFilter(el: XmlElement, limits: FilterLimits = {}): CalendarFilter {
  if (!is(el, NS.CALDAV, 'filter')) throw invalid(`expected CALDAV:filter, got ${el.local}`);
  checkFilterSize(el, { maxElements: limits.maxElements ?? DEFAULT_MAX_FILTER_ELEMENTS, maxDepth: MAX_FILTER_DEPTH }, unsupported);
  const comps = ownElements(el, ['comp-filter']);
  if (comps.length !== 1) throw invalid('CALDAV:filter must hold exactly one comp-filter');
  const root = parseCompFilter(comps[0]!);
  if (root.name !== 'VCALENDAR') throw invalid(`the top-level comp-filter must be VCALENDAR, not ${root.name}`);
  if (root.timeRange) throw unsupported('a time-range on VCALENDAR is not supported');
  return root;
}

/** CalDAV children of `el`; unknown CalDAV elements are refused, other namespaces skipped. */
function ownElements(el: XmlElement, allowed: string[]): XmlElement[] {
  return ownFilterElements(el, CALDAV_FILTER, allowed, unsupported);
}

function nameOf(el: XmlElement): string {
  const name = el.attrs.get('name')?.trim();
  if (!name) throw invalid(`CALDAV:${el.local} needs a name attribute`);
  return name.toUpperCase();
}

function parseCompFilter(el: XmlElement): CompFilter {
  const name = nameOf(el);
  const kids = ownElements(el, ['is-not-defined', 'time-range', 'prop-filter', 'comp-filter']);
  const isNotDefined = kids.some((k) => k.local === 'is-not-defined');
  if (isNotDefined && kids.length > 1) throw invalid(`comp-filter ${name}: is-not-defined stands alone`);
  const ranges = kids.filter((k) => k.local === 'time-range');
  if (ranges.length > 1) throw invalid(`comp-filter ${name}: more than one time-range`);
  if (ranges.length && !TIME_RANGE_COMPONENTS.has(name)) throw unsupported(`no time-range test for ${name}`);
  return {
    name,
    isNotDefined,
    timeRange: ranges.length ? parseTimeRange(ranges[0]!) : null,
    propFilters: kids.filter((k) => k.local === 'prop-filter').map(parsePropFilter),
    compFilters: kids.filter((k) => k.local === 'comp-filter').map(parseCompFilter),
  };
}

function parsePropFilter(el: XmlElement): PropFilter {
  const name = nameOf(el);
  const kids = ownElements(el, ['is-not-defined', 'time-range', 'text-match', 'param-filter']);
  const isNotDefined = kids.some((k) => k.local === 'is-not-defined');
  if (isNotDefined && kids.length > 1) throw invalid(`prop-filter ${name}: is-not-defined stands alone`);
  const ranges = kids.filter((k) => k.local === 'time-range');
  const texts = kids.filter((k) => k.local === 'text-match');
  if (ranges.length + texts.length > 1) throw invalid(`prop-filter ${name}: one time-range or one text-match at most`);
  return {
    name,
    isNotDefined,
    timeRange: ranges.length ? parseTimeRange(ranges[0]!) : null,
    textMatch: texts.length ? parseTextMatch(texts[0]!) : null,
    paramFilters: kids.filter((k) => k.local === 'param-filter').map(parseParamFilter),
  };
}

function parseParamFilter(el: XmlElement): ParamFilter {
  const name = nameOf(el);
  const kids = ownElements(el, ['is-not-defined', 'text-match']);
  if (kids.length > 1) throw invalid(`param-filter ${name}: is-not-defined or one text-match`);
  const isNotDefined = kids[0]?.local === 'is-not-defined';
  return { name, isNotDefined, textMatch: kids[0]?.local === 'text-match' ? parseTextMatch(kids[0]) : null };
}

function parseTextMatch(el: XmlElement): TextMatch {
  const collation = el.attrs.get('collation') ?? DEFAULT_COLLATION;
  if (!isCollation(collation)) throw new CalendarQueryError(403, 'supported-collation', `collation ${collation} is not supported`);
  const negateAttr = (el.attrs.get('negate-condition') ?? 'no').trim().toLowerCase();
  if (negateAttr !== 'yes' && negateAttr !== 'no') throw invalid(`negate-condition must be yes or no, not ${negateAttr}`);
  if (elements(el).length) throw invalid('text-match holds text only');
  return { text: textOf(el), collation, negate: negateAttr === 'yes' };
}

/**
 * CALDAV:time-range (§9.9): start and/or end as "date with UTC time"; at least one; end after start.
 * Also used for CALDAV:expand and friends (§9.6.5–9.6.7), which require both.
 */
export function parseTimeRange(el: XmlElement, options: { requireBoth?: boolean } = {}): TimeRange {
  const read = (attr: 'start' | 'end') => {
    const raw = el.attrs.get(attr);
    if (raw === undefined) return undefined;
    const ms = parseUtcDateTime(raw);
    if (ms === null) throw invalid(`CALDAV:${el.local} ${attr}="${raw}" is not a UTC date-time`);
    return ms;
  };
  const start = read('start');
  const end = read('end');
  if (start === undefined && end === undefined) throw invalid(`CALDAV:${el.local} needs start or end`);
  if (options.requireBoth && (start === undefined || end === undefined)) throw invalid(`CALDAV:${el.local} needs start and end`);
  if (start !== undefined && end !== undefined && end <= start) throw invalid(`CALDAV:${el.local} ends before it starts`);
  return { start: start ?? -Infinity, end: end ?? Infinity };
}

/** The CALDAV:filter child of a calendar-query body, parsed (convenience for the REPORT). */
export function parseQueryFilter(query: XmlElement, limits: FilterLimits = {}): CalendarFilter {
  const filter = child(query, NS.CALDAV, 'filter');
  if (!filter) throw invalid('calendar-query needs a CALDAV:filter');
  return parseFilter(filter, limits);
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export interface MatchOptions {
  /** Cap on generated instances per object (recurrence.ts). */
  maxInstances?: number;
  /** Zone for floating times and dates: the request's CALDAV:timezone or the calendar's. */
  floatingTimezone?: IcalTimezone | null;
}

interface Context {
  readonly object: CalendarObject;
  readonly floating: IcalTimezone | null;
  readonly options: MatchOptions;
}

/** Does the calendar object match the filter? (RFC 4791 §9.7) */
export function matches(object: CalendarObject, filter: CalendarFilter, options: MatchOptions = {}): boolean {
  const ctx: Context = { object, floating: options.floatingTimezone ?? null, options };
  if (filter.isNotDefined) return false; // the VCALENDAR is always there
  return subfiltersMatch(object.vcalendar, filter, null, ctx);
}

function subfiltersMatch(component: IcalComponent, f: CompFilter, inst: Instance | null, ctx: Context): boolean {
  return f.propFilters.every((pf) => propFilterMatches(component, pf, inst, ctx))
    && f.compFilters.every((cf) => compFilterMatches(component, cf, inst, ctx));
}

function compFilterMatches(parent: IcalComponent, f: CompFilter, parentInst: Instance | null, ctx: Context): boolean {
  spend();
  const comps = parent.getAllSubcomponents(f.name.toLowerCase());
  if (f.isNotDefined) return comps.length === 0;
  if (!comps.length) return false;

  // The object's own components: judge them instance by instance when any test depends on time.
  if (parent === ctx.object.vcalendar && f.name === ctx.object.componentType && RECURRING.has(f.name) && needsInstances(f)) {
    for (const inst of instances(ctx.object, expansionWindow(f, ctx))) {
      if ((!f.timeRange || instanceOverlaps(f.name, inst, f.timeRange, ctx.floating)) && subfiltersMatch(inst.component, f, inst, ctx)) return true;
    }
    return false;
  }

  return comps.some((c) => {
    spend();
    if (f.timeRange && !timeRangeMatches(c, f, parent, parentInst, ctx)) return false;
    return subfiltersMatch(c, f, f.name === 'VALARM' ? null : componentInstance(c), ctx);
  });
}

function timeRangeMatches(c: IcalComponent, f: CompFilter, parent: IcalComponent, parentInst: Instance | null, ctx: Context): boolean {
  const range = f.timeRange!;
  if (f.name === 'VALARM') return alarmOverlaps(c, parentInst ?? componentInstance(parent), range, ctx.floating);
  if (f.name === 'VFREEBUSY') return freeBusyOverlaps(c, range, ctx.floating);
  return instanceOverlaps(f.name, componentInstance(c), range, ctx.floating);
}

/** Does any test under this comp-filter depend on the times of individual instances? */
function needsInstances(f: CompFilter): boolean {
  return f.timeRange !== null
    || f.propFilters.some((pf) => pf.timeRange && INSTANCE_PROPERTIES.has(pf.name))
    || f.compFilters.some((cf) => cf.timeRange !== null);
}

/** The instances worth generating: those that can reach the ranges tested under `f`. */
function expansionWindow(f: CompFilter, ctx: Context): ExpansionOptions {
  const { object, options } = ctx;
  if (f.timeRange) return windowFor(object, f.timeRange, options);
  const ranges = f.propFilters.filter((pf) => pf.timeRange && INSTANCE_PROPERTIES.has(pf.name)).map((pf) => pf.timeRange!);
  const alarmRanges = f.compFilters.filter((cf) => cf.name === 'VALARM' && cf.timeRange).map((cf) => cf.timeRange!);
  if (ranges.length + alarmRanges.length === 0) return windowFor(object, ALL_TIME, options);
  const reach = alarmReach(object);
  const start = Math.min(...ranges.map((r) => r.start), ...alarmRanges.map((r) => r.start - reach.after));
  const end = Math.max(...ranges.map((r) => r.end), ...alarmRanges.map((r) => r.end + reach.before));
  return windowFor(object, { start, end }, options);
}

function propFilterMatches(component: IcalComponent, pf: PropFilter, inst: Instance | null, ctx: Context): boolean {
  const props = component.getAllProperties(pf.name.toLowerCase());
  if (pf.isNotDefined) return props.length === 0;
  if (!props.length) return false;
  return props.some((prop) => {
    spend();
    if (pf.timeRange) {
      const values = inst && INSTANCE_PROPERTIES.has(pf.name) ? [instanceValue(inst, pf.name)] : prop.getValues();
      if (!values.some((v) => valueOverlaps(v, pf.timeRange!, ctx.floating))) return false;
    }
    if (pf.textMatch && !textMatches(pf.textMatch, prop.getValues().map(valueText))) return false;
    return pf.paramFilters.every((qf) => paramFilterMatches(prop.getParameter(qf.name.toLowerCase()), qf));
  });
}

function instanceValue(inst: Instance, name: string): unknown {
  switch (name) {
    case 'DTSTART':
      return inst.start;
    case 'DTEND':
      return inst.end;
    case 'DUE':
      return inst.due;
    default:
      return inst.recurrenceId;
  }
}

function paramFilterMatches(raw: unknown, qf: ParamFilter): boolean {
  const values = raw == null ? [] : Array.isArray(raw) ? raw.map(String) : [String(raw)];
  if (qf.isNotDefined) return values.length === 0;
  if (!values.length) return false;
  return !qf.textMatch || textMatches(qf.textMatch, values);
}

/** A text-match on a multi-valued property (CATEGORIES) or parameter holds when any value contains the text. */
function textMatches(tm: TextMatch, texts: string[]): boolean {
  const found = texts.some((t) => collationContains(t, tm.text, tm.collation));
  return tm.negate ? !found : found;
}

/** A value as its iCalendar text: dates as 20240101T100000Z, not as jCal's 2024-01-01T10:00:00Z. */
function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof (v as { toICALString?: unknown }).toICALString === 'function') return (v as { toICALString(): string }).toICALString();
  return String(v);
}
