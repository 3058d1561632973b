/**
 * The recurrence set of a calendar object (RFC 5545 §3.8.5, RFC 4791 §9.9 "time range tests MUST
 * consider every recurrence instance"): RRULE, RDATE and EXDATE of the master, with overridden
 * instances (RECURRENCE-ID) replacing the generated ones and RANGE=THISANDFUTURE overrides applying
 * to the instances after them.
 *
 * ical.js's RecurIterator does the rule arithmetic in the wall-clock time of DTSTART's zone, so an
 * instance keeps its local time across DST changes. Everything around it is done here because
 * ical.js's own Event/RecurExpansion matches overrides by the text of the local or UTC time (not by
 * instant: a RECURRENCE-ID written in a third zone misses), hands out RDATE periods as Period
 * objects where times are expected, and has no bound on work.
 *
 * Work is bounded twice: at most `maxInstances` occurrences are generated per object, and at most
 * five times that many (at least 20,000) steps of each rule's iterator — candidates, years, months
 * and days it walks (counted-iterator.ts; FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30 never yields and
 * ical.js would search it to the year 20000), all also spent from the request's budget. Rules without
 * COUNT skip ahead to the window asked for in whole periods, so FREQ=SECONDLY since 2001 costs the
 * same as since yesterday.
 *
 * This module assembles instances; the master's occurrences are generated in occurrences.ts (skipping
 * ahead: fast-forward.ts), and RANGE=THISANDFUTURE overrides are found in range-overrides.ts.
 */
import ICAL from 'ical.js';
import type { CalendarObject } from './object.js';
import { spend } from './budget.js';
import { occurrenceKey, occurrences, rdatePeriods } from './occurrences.js';
import { maxRangeShift, rangeBefore, rangeOverrides, rangeStart, type RangeOverride } from './range-overrides.js';
import { addDays, epochMs, isFloating, timeAt, type IcalComponent, type IcalDuration, type IcalTime, type IcalTimezone } from './tz.js';

export { firstInstanceWithin, ICAL_SAME_OCCURRENCE, occurrenceKey } from './occurrences.js';

export const DEFAULT_MAX_INSTANCES = 10_000;

export interface ExpansionOptions {
  /** Cap on generated occurrences per object (a safeguard for unbounded rules). */
  maxInstances?: number;
  /** Zone for floating times and dates (the calendar's CALDAV:calendar-timezone); UTC when absent. */
  floatingTimezone?: IcalTimezone | null;
  /** Epoch ms: instances starting before this may be left out (lets unbounded rules skip ahead). */
  from?: number;
  /** Epoch ms: generation stops after the first occurrence starting later than this. */
  until?: number;
}

/** How an instance came to be. */
export type InstanceKind =
  | 'single' //     a non-recurring component
  | 'generated' //  from RRULE/RDATE, described by the master
  | 'override' //   a component with RECURRENCE-ID
  | 'range'; //     generated, described by a RANGE=THISANDFUTURE override before it

export interface Instance {
  readonly kind: InstanceKind;
  /** The component whose properties describe the instance (master, override or range override). */
  readonly component: IcalComponent;
  /** The instance's RECURRENCE-ID (its original start); null for a single component. */
  readonly recurrenceId: IcalTime | null;
  readonly start: IcalTime | null; //    DTSTART
  readonly end: IcalTime | null; //      DTEND (VEVENT, VFREEBUSY)
  readonly due: IcalTime | null; //      DUE (VTODO)
  readonly duration: IcalDuration | null; // DURATION
}

export interface Expansion {
  /** Instances in order of start (instances without DTSTART last). */
  readonly instances: Instance[];
  /** True when a cap stopped generation before `until` (or before the rule's end). */
  readonly truncated: boolean;
}

export function expandInstances(object: CalendarObject, options: ExpansionOptions = {}): Expansion {
  const floating = options.floatingTimezone ?? null;
  const stream = instances(object, options);
  const all: Instance[] = [];
  let step = stream.next();
  for (; !step.done; step = stream.next()) all.push(step.value);
  all.sort((a, b) => (a.start ? epochMs(a.start, floating) : Infinity) - (b.start ? epochMs(b.start, floating) : Infinity));
  return { instances: all, truncated: step.value };
}

/**
 * The same instances lazily, for callers that stop at the first match: overrides first, then the
 * generated ones in order. The generator's return value says whether a cap cut the set short.
 */
export function* instances(object: CalendarObject, options: ExpansionOptions = {}): Generator<Instance, boolean> {
  const { master, overrides } = object;
  const overrideKeys = new Set<string>();
  for (const o of overrides) {
    spend();
    const rid = o.getFirstPropertyValue('recurrence-id') as IcalTime;
    overrideKeys.add(occurrenceKey(rid));
    yield describe('override', o, rid, (o.getFirstPropertyValue('dtstart') as IcalTime | null) ?? rid);
  }
  if (!master) return false;

  const dtstart = master.getFirstPropertyValue('dtstart') as IcalTime | null;
  if (!dtstart || !isRecurring(master)) {
    if (!dtstart || !overrideKeys.has(occurrenceKey(dtstart))) yield describe('single', master, null, dtstart);
    return false;
  }

  const ranges = rangeOverrides(overrides);
  const periods = rdatePeriods(master);
  const shift = maxRangeShift(ranges);
  const generated = occurrences(master, dtstart, {
    maxInstances: options.maxInstances ?? DEFAULT_MAX_INSTANCES,
    floating: options.floatingTimezone ?? null,
    from: options.from === undefined ? undefined : options.from - shift,
    until: options.until === undefined ? undefined : options.until + shift,
  });
  let step = generated.next();
  for (; !step.done; step = generated.next()) {
    const occ = step.value;
    const key = occurrenceKey(occ);
    if (overrideKeys.has(key)) continue;
    const range = rangeBefore(ranges, epochMs(occ));
    const inst = range ? fromRange(range, occ) : describe('generated', master, occ, occ);
    const periodEnd = periods.get(key);
    yield periodEnd && !range ? { ...inst, end: periodEnd, duration: null } : inst;
  }
  return step.value;
}

export function isRecurring(component: IcalComponent): boolean {
  return component.hasProperty('rrule') || component.hasProperty('rdate');
}

/**
 * An instance described by `component`, moved to `start`: DTEND and DUE keep their distance from
 * DTSTART (exact for date-times, whole days for dates).
 */
function describe(kind: InstanceKind, component: IcalComponent, recurrenceId: IcalTime | null, start: IcalTime | null): Instance {
  const dtstart = component.getFirstPropertyValue('dtstart') as IcalTime | null;
  const end = component.getFirstPropertyValue('dtend') as IcalTime | null;
  const due = component.getFirstPropertyValue('due') as IcalTime | null;
  const duration = component.getFirstPropertyValue('duration') as IcalDuration | null;
  const moved = start && dtstart && (kind === 'generated' || kind === 'range');
  return {
    kind,
    component,
    recurrenceId,
    start,
    end: end && moved ? shift(end, dtstart, start) : end,
    due: due && moved ? shift(due, dtstart, start) : due,
    duration,
  };
}

/** An instance after a THISANDFUTURE override, described by it. */
function fromRange(range: RangeOverride, occ: IcalTime): Instance {
  return describe('range', range.component, occ, rangeStart(range, occ));
}

/** `value` moved by the distance from `from` to `to`. */
function shift(value: IcalTime, from: IcalTime, to: IcalTime): IcalTime {
  if (value.isDate && from.isDate && to.isDate) return addDays(value, daysBetween(from, to));
  const ms = epochMs(value) + (epochMs(to) - epochMs(from));
  const r = timeAt(ms, isFloating(value) ? ICAL.Timezone.localTimezone : value.zone);
  if (value.isDate) r.isDate = true;
  return r;
}

function daysBetween(a: IcalTime, b: IcalTime): number {
  return Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / 86_400_000);
}

/** A component on its own, as one instance (no recurrence applied). */
export function componentInstance(component: IcalComponent): Instance {
  const rid = component.getFirstPropertyValue('recurrence-id') as IcalTime | null;
  return describe(rid ? 'override' : 'single', component, rid, component.getFirstPropertyValue('dtstart') as IcalTime | null);
}

/** The instance the master would generate at `recurrenceId` were it not overridden. */
export function occurrenceInstance(master: IcalComponent, recurrenceId: IcalTime): Instance {
  return describe('generated', master, recurrenceId, recurrenceId);
}
