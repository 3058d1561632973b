/**
 * The time bounds of a calendar object: an interval that holds every §9.9 time-range test the object
 * could ever pass, so a query may skip an object whose bounds miss its range without parsing it.
 *
 * Conservative by construction: each instance contributes the closed interval spanned by the times
 * its §9.9 row compares (timerange.ts), so "some instance overlaps [S, E)" implies S <= hi and
 * E >= lo. Where the exact answer is unknown the bounds widen:
 * - floating times and DATEs are compared in the request's zone (CALDAV:timezone), unknown here:
 *   they are computed as UTC and widened by FLOATING_MARGIN, more than any UTC offset;
 * - rules with COUNT are expanded (up to BOUNDS_MAX_INSTANCES); rules with UNTIL or without an end
 *   are bounded from DTSTART, RDATE, UNTIL and the overrides, widened by how far one instance can
 *   reach from its occurrence (its length, THISANDFUTURE shifts, DST), open at the end if endless;
 * - anything ical.js cannot evaluate makes the bounds open on both sides.
 * Alarms get their own bounds (the trigger times of every instance's VALARMs): a VALARM time-range
 * can match an alarm that fires long before its event.
 */
import ICAL from 'ical.js';
import type { CalendarComponentType, CalendarObject } from './object.js';
import { spend, StepBudgetExceeded } from './budget.js';
import { componentInstance, instances, type Instance } from './recurrence.js';
import { alarmReach, alarmTriggers, eventEnd, freeBusyPeriods, type TimeRange } from './timerange.js';
import { addDuration, durationMs, epochMs, isFloating, type IcalComponent, type IcalTime } from './tz.js';

/** A closed interval in epoch ms; ±Infinity where open; `lo > hi` when nothing can match. */
export interface Span {
  readonly lo: number;
  readonly hi: number;
}

export interface ObjectBounds {
  readonly uid: string | null;
  readonly type: CalendarComponentType;
  /** Every instance's own time-range interval (VEVENT, VTODO, VJOURNAL, VFREEBUSY rows of §9.9). */
  readonly span: Span;
  /** Every trigger (and repetition) of every instance's VALARMs. */
  readonly alarms: Span;
  /**
   * Set on a VEVENT of exactly one instance (no RRULE, RDATE, EXDATE or override; no floating time
   * or DATE anywhere): `span` is then that instance's own DTSTART (lo) and end (hi) as §9.9 compares
   * them, so a plain VEVENT time-range is decided from the bounds alone (`exactVerdict`).
   */
  readonly exact?: true;
  /**
   * Set on a non-floating VEVENT whose every instance was expanded (a finite rule, within
   * BOUNDS_MAX_INSTANCES) and lasts some time (end after start): the instances cover `span` but for
   * gaps of at most this many ms each. A range that meets `span` and is longer than that meets an
   * instance (`exactVerdict`).
   */
  readonly gaps?: number;
}

export const OPEN: Span = { lo: -Infinity, hi: Infinity };
export const EMPTY: Span = { lo: Infinity, hi: -Infinity };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** UTC offsets stay within ±24 h (RFC 5545 utc-offset), a DATE's day within 23–25 h: 3 days is ample. */
export const FLOATING_MARGIN = 3 * DAY;
/** Instances expanded to find the bounds; beyond this the end is open (cheap, and rare). */
export const BOUNDS_MAX_INSTANCES = 1000;
/**
 * Instances of UNTIL rules expanded; beyond this they are bounded from DTSTART and UNTIL. Measured
 * (load 2, minimum of 15): an instance costs ~40 µs with a TZID from Node's zones (365 daily 14 ms;
 * COUNT=1000 40 ms), ~12 µs in UTC; 190 daily instances 8 ms zoned, 2.3 ms UTC. So at 100 an UNTIL
 * rule's expansion stays within ~4 ms. A rule whose UNTIL lies more than this many periods (FREQ ×
 * INTERVAL) after DTSTART is not expanded at all (untilFarBeyond): it yields more instances than the
 * cap, or few of many candidates, and a never-yielding one (FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30 until
 * 9999) walked its iterator's 20,000-step cap, 23 ms, before falling back; 100 yearly periods of it
 * cost ~1 ms. The bench's UNTIL rules (weekly, 30–300 days) are well within.
 */
export const UNTIL_MAX_INSTANCES = 100;

/** The shortest length of each FREQ's period (a DST day, February, a common year), less an hour. */
const PERIOD_MS: Record<string, number> = { SECONDLY: 1000, MINUTELY: 60_000, HOURLY: HOUR, DAILY: 23 * HOUR, WEEKLY: 7 * DAY - HOUR, MONTHLY: 28 * DAY - HOUR, YEARLY: 365 * DAY - HOUR };

/** Whether an UNTIL rule has more periods before its UNTIL than UNTIL_MAX_INSTANCES (an over-estimate). */
function untilFarBeyond(rule: ICAL.Recur, dtstart: IcalTime): boolean {
  const period = (PERIOD_MS[rule.freq] ?? 1000) * Math.max(1, rule.interval || 1);
  return (epochMs(rule.until!) - epochMs(dtstart)) / period > UNTIL_MAX_INSTANCES;
}

/**
 * Whether an object with these bounds passes a VEVENT time-range test on [range.start, range.end):
 * known only where the bounds are exact (one non-floating instance); else undefined. §9.9's VEVENT
 * rows (timerange.ts eventOverlaps): with an end after the start, start < end-of-event and
 * end > DTSTART; with none (an instant), start <= DTSTART < end.
 */
export function exactVerdict(b: ObjectBounds, range: TimeRange): boolean | undefined {
  if (b.type !== 'VEVENT') return undefined;
  const { lo, hi } = b.span;
  if (b.exact) return hi > lo ? range.start < hi && range.end > lo : range.start <= lo && range.end > lo;
  if (b.gaps === undefined) return undefined;
  // Every instance lies within [lo, hi] and lasts: none meets a range outside it. A range that
  // meets [lo, hi) and meets no instance lies within one gap, so it is no longer than the gaps.
  if (!(range.start < hi && range.end > lo)) return false;
  return range.end - range.start > b.gaps ? true : undefined;
}

/** Could an object with this span pass a time-range test on [range.start, range.end)? */
export function mayOverlap(span: Span, range: TimeRange): boolean {
  return span.lo <= span.hi && range.start <= span.hi && range.end >= span.lo;
}

export function objectBounds(object: CalendarObject): ObjectBounds {
  const base = { uid: object.uid, type: object.componentType };
  try {
    const { span, alarms, gaps } = object.componentType === 'VFREEBUSY' ? freeBusyBounds(object) : recurringBounds(object);
    if (!hasFloating(object)) {
      if (isExact(object, span)) return { ...base, span, alarms, exact: true };
      return gaps !== undefined && object.componentType === 'VEVENT' ? { ...base, span, alarms, gaps } : { ...base, span, alarms };
    }
    return { ...base, span: widen(span, FLOATING_MARGIN), alarms: widen(alarms, FLOATING_MARGIN) };
  } catch (err) {
    if (err instanceof StepBudgetExceeded) throw err;
    return { ...base, span: OPEN, alarms: OPEN };
  }
}

class Acc {
  lo = Infinity;
  hi = -Infinity;
  add(lo: number, hi: number): void {
    if (Number.isNaN(lo) || Number.isNaN(hi)) {
      this.lo = -Infinity;
      this.hi = Infinity;
      return;
    }
    this.lo = Math.min(this.lo, lo, hi);
    this.hi = Math.max(this.hi, lo, hi);
  }
  get span(): Span {
    return { lo: this.lo, hi: this.hi };
  }
}

function recurringBounds(object: CalendarObject): { span: Span; alarms: Span; gaps?: number } {
  const rules = object.master?.getAllProperties('rrule').map((p) => p.getFirstValue() as ICAL.Recur) ?? [];
  // Endless rules are bounded from their properties. UNTIL rules are expanded up to
  // UNTIL_MAX_INSTANCES, unless their UNTIL is far beyond (see there); else bounded from their
  // properties too.
  const dtstart = object.master?.getFirstPropertyValue('dtstart');
  if (dtstart instanceof ICAL.Time && rules.some((r) => (!r.count && !r.until) || (r.until && untilFarBeyond(r, dtstart)))) return staticBounds(object, rules);
  const cap = rules.some((r) => !r.count) ? UNTIL_MAX_INSTANCES : BOUNDS_MAX_INSTANCES;
  const span = new Acc();
  const alarms = new Acc();
  // Each VEVENT instance's [start, end), while every one lasts (for `gaps`).
  let times: [number, number][] | null = object.componentType === 'VEVENT' ? [] : null;
  const stream = instances(object, { maxInstances: cap });
  let step = stream.next();
  for (; !step.done; step = stream.next()) {
    const inst = step.value;
    const s = instanceSpan(object.componentType, inst);
    if (s) span.add(s.lo, s.hi);
    if (times) {
      const e = inst.start ? eventEnd(inst) : null;
      const start = inst.start ? epochMs(inst.start) : NaN;
      if (e !== null && Number.isFinite(start) && Number.isFinite(e) && e > start) times.push([start, e]);
      else times = null;
    }
    for (const alarm of inst.component.getAllSubcomponents('valarm')) {
      for (const t of alarmTriggers(alarm, inst)) alarms.add(t, t);
    }
  }
  if (step.value) return staticBounds(object, rules);
  return times?.length ? { span: span.span, alarms: alarms.span, gaps: longestGap(times) } : { span: span.span, alarms: alarms.span };
}

/** The longest stretch between instances (sorted by start) that none of them covers; 0 if none. */
function longestGap(times: [number, number][]): number {
  times.sort((a, b) => a[0] - b[0]);
  let covered = times[0]![1];
  let gap = 0;
  for (const [s, e] of times) {
    gap = Math.max(gap, s - covered);
    covered = Math.max(covered, e);
  }
  return gap;
}

/**
 * Bounds without expansion: every occurrence starts at or after DTSTART or at an RDATE, and (with
 * UNTIL on every rule) at or before the last UNTIL or RDATE; overrides sit at their own times. Each
 * instance reaches `unseenSlack` beyond its occurrence; alarms `alarmReach` beyond that.
 */
function staticBounds(object: CalendarObject, rules: ICAL.Recur[]): { span: Span; alarms: Span } {
  const times = new Acc();
  for (const c of components(object)) {
    for (const name of ['dtstart', 'dtend', 'due', 'recurrence-id']) {
      const v = c.getFirstPropertyValue(name);
      if (v instanceof ICAL.Time) times.add(epochMs(v), epochMs(v));
    }
    for (const prop of c.getAllProperties('rdate')) {
      for (const v of prop.getValues()) {
        if (v instanceof ICAL.Period) times.add(epochMs(v.start), epochMs(v.getEnd()));
        else if (v instanceof ICAL.Time) times.add(epochMs(v), epochMs(v));
      }
    }
  }
  const untils = rules.map((r) => r.until);
  const endless = rules.some((r) => r.count) || untils.some((u) => !u);
  // A DATE UNTIL means "through that day" in DTSTART's zone.
  for (const u of untils) if (u) times.add(epochMs(u), epochMs(u) + 2 * DAY);
  const slack = unseenSlack(object);
  const span = { lo: times.lo - slack, hi: endless ? Infinity : times.hi + slack };
  const alarms = new Acc();
  const reach = alarmReach(object);
  for (const c of components(object)) {
    for (const alarm of c.getAllSubcomponents('valarm')) {
      const trigger = alarm.getFirstPropertyValue('trigger');
      if (trigger instanceof ICAL.Time) for (const t of alarmTriggers(alarm, componentInstance(c))) alarms.add(t, t);
      else alarms.add(span.lo - reach.before, span.hi + reach.after);
    }
  }
  return { span, alarms: alarms.span };
}

/** The interval of times the §9.9 row of this instance's type compares (null: it can never match). */
export function instanceSpan(type: CalendarComponentType, inst: Instance): Span | null {
  const at = (t: IcalTime | null) => (t ? epochMs(t) : null);
  switch (type) {
    case 'VEVENT': {
      if (!inst.start) return null;
      const s = epochMs(inst.start);
      return hull([s, eventEnd(inst)!]);
    }
    case 'VTODO': {
      const start = at(inst.start);
      const due = at(inst.due);
      if (start !== null || due !== null) {
        const withDuration = start !== null && due === null && inst.duration ? epochMs(addDuration(inst.start!, inst.duration)) : null;
        return hull([start, due, withDuration]);
      }
      const completed = at(inst.component.getFirstPropertyValue('completed') as IcalTime | null);
      const created = at(inst.component.getFirstPropertyValue('created') as IcalTime | null);
      if (completed !== null) return hull([completed, created]);
      if (created !== null) return { lo: created, hi: Infinity }; // "end > CREATED": any later range
      return OPEN; // no dates at all: every range matches
    }
    case 'VJOURNAL': {
      if (!inst.start) return null;
      const s = epochMs(inst.start);
      return { lo: s, hi: s + (inst.start.isDate ? DAY : 0) };
    }
    default:
      return OPEN;
  }
}

function hull(times: Array<number | null>): Span {
  const xs = times.filter((t): t is number => t !== null);
  if (xs.some(Number.isNaN)) return OPEN;
  return { lo: Math.min(...xs), hi: Math.max(...xs) };
}

/** VFREEBUSY is not expanded: each component by its DTSTART/DTEND, else its FREEBUSY periods. */
function freeBusyBounds(object: CalendarObject): { span: Span; alarms: Span; gaps?: number } {
  const span = new Acc();
  const alarms = new Acc();
  for (const c of components(object)) {
    const dtstart = c.getFirstPropertyValue('dtstart');
    const dtend = c.getFirstPropertyValue('dtend');
    if (dtstart instanceof ICAL.Time && dtend instanceof ICAL.Time) span.add(epochMs(dtstart), epochMs(dtend));
    else for (const p of freeBusyPeriods(c)) span.add(p.start, p.end);
    const inst = componentInstance(c);
    for (const alarm of c.getAllSubcomponents('valarm')) for (const t of alarmTriggers(alarm, inst)) alarms.add(t, t);
  }
  return { span: span.span, alarms: alarms.span };
}

/**
 * How far an instance not yet generated may reach before its own occurrence: the largest shift of a
 * THISANDFUTURE override, the longest distance of DTEND/DUE/DURATION/RDATE period from DTSTART (either
 * sign), plus two days for DST and nominal days.
 */
function unseenSlack(object: CalendarObject): number {
  let slack = 0;
  for (const c of components(object)) {
    const start = c.getFirstPropertyValue('dtstart');
    const s = start instanceof ICAL.Time ? epochMs(start) : null;
    const rid = c.getFirstPropertyValue('recurrence-id');
    if (s !== null && rid instanceof ICAL.Time) slack = Math.max(slack, Math.abs(s - epochMs(rid)));
    for (const name of ['dtend', 'due']) {
      const v = c.getFirstPropertyValue(name);
      if (s !== null && v instanceof ICAL.Time) slack = Math.max(slack, Math.abs(epochMs(v) - s));
    }
    const d = c.getFirstPropertyValue('duration');
    if (d instanceof ICAL.Duration) slack = Math.max(slack, Math.abs(durationMs(d)));
    for (const prop of c.getAllProperties('rdate')) {
      for (const v of prop.getValues()) if (v instanceof ICAL.Period) slack = Math.max(slack, Math.abs(epochMs(v.getEnd()) - epochMs(v.start)));
    }
  }
  return slack + 2 * DAY;
}

function components(object: CalendarObject): IcalComponent[] {
  return object.master ? [object.master, ...object.overrides] : [...object.overrides];
}

function widen(span: Span, by: number): Span {
  return span.lo > span.hi ? span : { lo: span.lo - by, hi: span.hi + by };
}

/**
 * Whether `span` (of an object without floating times) is exactly its one instance's §9.9 interval:
 * one VEVENT and nothing that makes more or fewer instances of it (no RRULE, RDATE, EXDATE or
 * override), whose end is not before its start, and the span is that DTSTART and that end as
 * eventOverlaps computes them.
 */
function isExact(object: CalendarObject, span: Span): boolean {
  const m = object.master;
  if (object.componentType !== 'VEVENT' || !m || object.overrides.length) return false;
  if (object.vcalendar.getAllSubcomponents('vevent').length !== 1) return false;
  if (m.hasProperty('rrule') || m.hasProperty('rdate') || m.hasProperty('exdate')) return false;
  const inst = componentInstance(m);
  if (!inst.start) return false;
  const s = epochMs(inst.start);
  const e = eventEnd(inst);
  return e !== null && Number.isFinite(s) && Number.isFinite(e) && e >= s && span.lo === s && span.hi === e;
}

/** Does any time value of the object's components (alarms included) depend on the floating zone? */
function hasFloating(object: CalendarObject): boolean {
  const visit = (c: IcalComponent): boolean => {
    for (const prop of c.getAllProperties()) {
      spend();
      for (const v of prop.getValues()) {
        if (v instanceof ICAL.Time && isFloating(v)) return true;
        if (v instanceof ICAL.Period && (isFloating(v.start) || (v.end && isFloating(v.end)))) return true;
      }
    }
    return c.getAllSubcomponents().some(visit);
  };
  return components(object).some(visit);
}
