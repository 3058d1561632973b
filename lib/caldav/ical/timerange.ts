/**
 * RFC 4791 §9.9: when does a component (or an alarm, or a property) overlap a time range?
 *
 * A range is [start, end) in epoch ms; an open end is -Infinity / +Infinity. The tables of §9.9 are
 * written out below per component type and evaluated per recurrence instance (recurrence.ts), so
 * an overridden instance is judged by its own times and an EXDATE'd one not at all.
 *
 * One reading beyond the letter of the table: a VEVENT whose DTEND equals its DTSTART is treated
 * like one with DURATION:PT0S (start <= DTSTART < end), not with the DTEND row, which no range
 * could ever satisfy for an event of no length.
 */
import ICAL from 'ical.js';
import type { CalendarObject } from './object.js';
import { expandInstances, instances, type Expansion, type ExpansionOptions, type Instance } from './recurrence.js';
import { spend } from './budget.js';
import { addDuration, durationMs, epochMs, type IcalComponent, type IcalDuration, type IcalTime, type IcalTimezone } from './tz.js';

export interface TimeRange {
  /** Inclusive start, epoch ms; -Infinity when open. */
  readonly start: number;
  /** Exclusive end, epoch ms; +Infinity when open. */
  readonly end: number;
}

export const ALL_TIME: TimeRange = { start: -Infinity, end: Infinity };

export function timeRange(start?: Date | number | null, end?: Date | number | null): TimeRange {
  return { start: start == null ? -Infinity : +start, end: end == null ? Infinity : +end };
}

export interface TimeRangeOptions {
  /** Zone for floating times and dates (CALDAV:timezone / calendar-timezone); UTC when absent. */
  floatingTimezone?: IcalTimezone | null;
  /** Cap on generated instances per object (see recurrence.ts). */
  maxInstances?: number;
}

const DAY_MS = 86_400_000;

/** Does one instance of a component of `type` overlap the range? (§9.9, by type) */
export function instanceOverlaps(type: string, inst: Instance, range: TimeRange, floating?: IcalTimezone | null): boolean {
  switch (type.toUpperCase()) {
    case 'VEVENT':
      return eventOverlaps(inst, range, floating);
    case 'VTODO':
      return todoOverlaps(inst, range, floating);
    case 'VJOURNAL':
      return journalOverlaps(inst, range, floating);
    case 'VFREEBUSY':
      return freeBusyOverlaps(inst.component, range, floating);
    default:
      return false;
  }
}

/**
 * The instant a VEVENT instance ends: DTEND, else DTSTART+DURATION, else DTSTART (+P1D for a DATE).
 * Null without DTSTART.
 */
export function eventEnd(inst: Instance, floating?: IcalTimezone | null): number | null {
  if (!inst.start) return null;
  if (inst.end) return epochMs(inst.end, floating);
  if (inst.duration) return epochMs(addDuration(inst.start, inst.duration), floating);
  return epochMs(inst.start, floating) + (inst.start.isDate ? dayLength(inst.start, floating) : 0);
}

/** A DATE's day is 23 or 25 hours long on a DST change in the floating zone. */
function dayLength(date: IcalTime, floating?: IcalTimezone | null): number {
  const next = date.clone();
  next.adjust(1, 0, 0, 0);
  return epochMs(next, floating) - epochMs(date, floating);
}

/**
 * VEVENT table:
 *   DTEND                 (start <  DTEND AND end > DTSTART)
 *   DURATION > 0          (start <  DTSTART+DURATION AND end > DTSTART)
 *   DURATION = 0          (start <= DTSTART AND end > DTSTART)
 *   neither, DATE-TIME    (start <= DTSTART AND end > DTSTART)
 *   neither, DATE         (start <  DTSTART+P1D AND end > DTSTART)
 */
export function eventOverlaps(inst: Instance, range: TimeRange, floating?: IcalTimezone | null): boolean {
  if (!inst.start) return false;
  const s = epochMs(inst.start, floating);
  const e = eventEnd(inst, floating)!;
  return e > s ? range.start < e && range.end > s : range.start <= s && range.end > s;
}

/**
 * VTODO table (DTSTART, DURATION, DUE, COMPLETED, CREATED present?):
 *   Y Y N * *   (start <= DTSTART+DURATION) AND ((end > DTSTART) OR (end >= DTSTART+DURATION))
 *   Y N Y * *   ((start < DUE) OR (start <= DTSTART)) AND ((end > DTSTART) OR (end >= DUE))
 *   Y N N * *   (start <= DTSTART) AND (end > DTSTART)
 *   N N Y * *   (start < DUE) AND (end >= DUE)
 *   N N N Y Y   ((start <= CREATED) OR (start <= COMPLETED)) AND ((end >= CREATED) OR (end >= COMPLETED))
 *   N N N Y N   (start <= COMPLETED) AND (end >= COMPLETED)
 *   N N N N Y   (end > CREATED)
 *   N N N N N   TRUE
 */
export function todoOverlaps(inst: Instance, range: TimeRange, floating?: IcalTimezone | null): boolean {
  const { start: S, end: E } = range;
  const at = (t: IcalTime | null) => (t ? epochMs(t, floating) : null);
  const dtstart = at(inst.start);
  const due = at(inst.due);
  if (dtstart !== null) {
    if (due === null && inst.duration) {
      const d = epochMs(addDuration(inst.start!, inst.duration), floating);
      return S <= d && (E > dtstart || E >= d);
    }
    if (due !== null) return (S < due || S <= dtstart) && (E > dtstart || E >= due);
    return S <= dtstart && E > dtstart;
  }
  if (due !== null) return S < due && E >= due;
  const completed = at(inst.component.getFirstPropertyValue('completed') as IcalTime | null);
  const created = at(inst.component.getFirstPropertyValue('created') as IcalTime | null);
  if (completed !== null && created !== null) return (S <= created || S <= completed) && (E >= created || E >= completed);
  if (completed !== null) return S <= completed && E >= completed;
  if (created !== null) return E > created;
  return true;
}

/**
 * VJOURNAL table:
 *   DATE-TIME   (start <= DTSTART) AND (end > DTSTART)
 *   DATE        (start <  DTSTART+P1D) AND (end > DTSTART)
 *   no DTSTART  FALSE
 */
export function journalOverlaps(inst: Instance, range: TimeRange, floating?: IcalTimezone | null): boolean {
  if (!inst.start) return false;
  const s = epochMs(inst.start, floating);
  if (inst.start.isDate) return range.start < s + dayLength(inst.start, floating) && range.end > s;
  return range.start <= s && range.end > s;
}

/**
 * VFREEBUSY table (DURATION is ignored, it means something else here):
 *   DTSTART and DTEND   (start <= DTEND) AND (end > DTSTART)
 *   FREEBUSY            (start < period-end) AND (end > period-start), for any period of any type
 *   neither             FALSE
 */
export function freeBusyOverlaps(component: IcalComponent, range: TimeRange, floating?: IcalTimezone | null): boolean {
  const dtstart = component.getFirstPropertyValue('dtstart') as IcalTime | null;
  const dtend = component.getFirstPropertyValue('dtend') as IcalTime | null;
  if (dtstart && dtend) return range.start <= epochMs(dtend, floating) && range.end > epochMs(dtstart, floating);
  return freeBusyPeriods(component, floating).some((p) => range.start < p.end && range.end > p.start);
}

export interface Period {
  readonly start: number;
  readonly end: number;
}

/** The FREEBUSY periods of a component, with their FBTYPE (default BUSY, RFC 5545 §3.2.9). */
export function freeBusyPeriods(component: IcalComponent, floating?: IcalTimezone | null): Array<Period & { type: string }> {
  const out: Array<Period & { type: string }> = [];
  for (const prop of component.getAllProperties('freebusy')) {
    const type = String(prop.getFirstParameter('fbtype') ?? 'BUSY').toUpperCase();
    for (const v of prop.getValues()) {
      spend();
      if (!(v instanceof ICAL.Period)) continue;
      out.push({ type, start: epochMs(v.start, floating), end: epochMs(v.getEnd(), floating) });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// VALARM

/**
 * The instants a VALARM of this instance fires: its TRIGGER (absolute, or relative to the start, or
 * with RELATED=END to DTEND / DUE), then REPEAT more times every DURATION. (RFC 5545 §3.6.6)
 */
export function alarmTriggers(alarm: IcalComponent, inst: Instance, floating?: IcalTimezone | null): number[] {
  const trigger = alarm.getFirstProperty('trigger');
  const value = trigger?.getFirstValue();
  let first: number | null = null;
  if (value instanceof ICAL.Time) first = epochMs(value, floating);
  else if (value instanceof ICAL.Duration && inst.start) {
    const related = String(trigger!.getFirstParameter('related') ?? 'START').toUpperCase();
    let anchor: number | null = epochMs(inst.start, floating);
    if (related === 'END') {
      if (inst.component.name === 'vtodo') {
        anchor = inst.due ? epochMs(inst.due, floating) : inst.duration ? epochMs(addDuration(inst.start, inst.duration), floating) : null;
      } else {
        anchor = eventEnd(inst, floating);
      }
    }
    if (anchor !== null) first = anchor + durationMs(value);
  }
  if (first === null) return [];
  const times = [first];
  const repeat = Number(alarm.getFirstPropertyValue('repeat') ?? 0);
  const every = alarm.getFirstPropertyValue('duration') as IcalDuration | null;
  if (repeat > 0 && every instanceof ICAL.Duration && every.toSeconds() > 0) {
    spend(Math.min(repeat, 1000));
    for (let i = 1; i <= Math.min(repeat, 1000); i++) times.push(first + i * durationMs(every));
  }
  return times;
}

/** §9.9 VALARM: (start <= trigger-time) AND (end > trigger-time), for any trigger or repetition. */
export function alarmOverlaps(alarm: IcalComponent, inst: Instance, range: TimeRange, floating?: IcalTimezone | null): boolean {
  return alarmTriggers(alarm, inst, floating).some((t) => range.start <= t && range.end > t);
}

/**
 * How far alarms reach from their instance: `before` ms ahead of the start at most, `after` ms
 * past the start (or end) at most. Used to widen the window of instances to look at.
 */
export function alarmReach(object: CalendarObject): { before: number; after: number } {
  let before = 0;
  let after = 0;
  for (const c of components(object)) {
    for (const alarm of c.getAllSubcomponents('valarm')) {
      const value = alarm.getFirstPropertyValue('trigger');
      if (!(value instanceof ICAL.Duration)) continue;
      const offset = durationMs(value);
      const every = alarm.getFirstPropertyValue('duration');
      const repeats = every instanceof ICAL.Duration ? Math.min(Number(alarm.getFirstPropertyValue('repeat') ?? 0), 1000) * durationMs(every) : 0;
      before = Math.max(before, -offset);
      after = Math.max(after, offset + repeats);
    }
  }
  return { before, after };
}

// ---------------------------------------------------------------------------------------------
// Properties (CALDAV:prop-filter with a time-range)

/**
 * A DATE-TIME value overlaps when start <= value < end; a DATE covers its day; a PERIOD
 * overlaps like an event. Other values never do.
 */
export function valueOverlaps(value: unknown, range: TimeRange, floating?: IcalTimezone | null): boolean {
  if (value instanceof ICAL.Period) {
    return range.start < epochMs(value.getEnd(), floating) && range.end > epochMs(value.start, floating);
  }
  if (!(value instanceof ICAL.Time)) return false;
  const v = epochMs(value, floating);
  if (value.isDate) return range.start < v + dayLength(value, floating) && range.end > v;
  return range.start <= v && range.end > v;
}

// ---------------------------------------------------------------------------------------------
// Whole objects

function components(object: CalendarObject): IcalComponent[] {
  return object.master ? [object.master, ...object.overrides] : [...object.overrides];
}

/**
 * The longest an instance of the object lasts (DTEND, DUE, DURATION or an RDATE period after
 * DTSTART; a day for a DATE), plus two hours when a span counts in nominal days (they can be
 * longer across DST): instances starting that long before a range can still reach into it.
 */
export function maxSpanMs(object: CalendarObject): number {
  let max = 0;
  let nominal = false;
  for (const c of components(object)) {
    const start = c.getFirstPropertyValue('dtstart');
    if (!(start instanceof ICAL.Time)) continue;
    const s = epochMs(start);
    if (start.isDate) {
      max = Math.max(max, DAY_MS);
      nominal = true;
    }
    for (const name of ['dtend', 'due']) {
      const v = c.getFirstPropertyValue(name);
      if (v instanceof ICAL.Time) max = Math.max(max, epochMs(v) - s);
    }
    const d = c.getFirstPropertyValue('duration');
    if (d instanceof ICAL.Duration) {
      max = Math.max(max, durationMs(d));
      nominal ||= d.days > 0 || d.weeks > 0;
    }
    for (const prop of c.getAllProperties('rdate')) {
      for (const v of prop.getValues()) if (v instanceof ICAL.Period) max = Math.max(max, epochMs(v.getEnd()) - epochMs(v.start));
    }
  }
  return max + (nominal ? 2 * 3_600_000 : 0);
}

/** The expansion options that find every instance that could overlap `range`. */
export function windowFor(object: CalendarObject, range: TimeRange, options: TimeRangeOptions = {}): ExpansionOptions {
  return {
    maxInstances: options.maxInstances,
    floatingTimezone: options.floatingTimezone,
    from: Number.isFinite(range.start) ? range.start - maxSpanMs(object) : undefined,
    until: Number.isFinite(range.end) ? range.end : undefined,
  };
}

/** The instances of the object that overlap the range (§9.9), in order of start. */
export function instancesInRange(object: CalendarObject, range: TimeRange, options: TimeRangeOptions = {}): Expansion {
  const floating = options.floatingTimezone ?? null;
  const expansion = expandInstances(object, windowFor(object, range, options));
  return {
    instances: expansion.instances.filter((i) => instanceOverlaps(object.componentType, i, range, floating)),
    truncated: expansion.truncated,
  };
}

/** Does any instance of the object overlap the range? (Stops at the first that does.) */
export function objectOverlaps(object: CalendarObject, range: TimeRange, options: TimeRangeOptions = {}): boolean {
  const floating = options.floatingTimezone ?? null;
  for (const inst of instances(object, windowFor(object, range, options))) {
    if (instanceOverlaps(object.componentType, inst, range, floating)) return true;
  }
  return false;
}
