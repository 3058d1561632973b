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
 */
import ICAL from 'ical.js';
import type { CalendarObject } from './object.js';
import { spend } from './budget.js';
import { countedIterator, IteratorCapReached } from './counted-iterator.js';
import { addDays, addDuration, epochMs, isFloating, timeAt, type IcalComponent, type IcalDuration, type IcalTime, type IcalTimezone } from './tz.js';

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

/** Identity of an occurrence for matching RECURRENCE-IDs and EXDATEs: the instant, or the date. */
export function occurrenceKey(t: IcalTime): string {
  return t.isDate ? `d${t.year}-${t.month}-${t.day}` : `t${t.toUnixTime()}`;
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

// ---------------------------------------------------------------------------------------------
// RANGE=THISANDFUTURE

interface RangeOverride {
  readonly component: IcalComponent;
  readonly key: number; // epoch ms of its RECURRENCE-ID
  readonly recurrenceId: IcalTime;
  readonly start: IcalTime;
}

function rangeOverrides(overrides: readonly IcalComponent[]): RangeOverride[] {
  const out: RangeOverride[] = [];
  for (const o of overrides) {
    const prop = o.getFirstProperty('recurrence-id')!;
    if (String(prop.getFirstParameter('range') ?? '').toUpperCase() !== 'THISANDFUTURE') continue;
    const rid = prop.getFirstValue() as IcalTime;
    out.push({ component: o, key: epochMs(rid), recurrenceId: rid, start: (o.getFirstPropertyValue('dtstart') as IcalTime | null) ?? rid });
  }
  return out.sort((a, b) => a.key - b.key);
}

/** The THISANDFUTURE override in force at an occurrence: the last one before it. */
function rangeBefore(ranges: RangeOverride[], at: number): RangeOverride | undefined {
  let found: RangeOverride | undefined;
  for (const r of ranges) if (r.key < at) found = r;
  return found;
}

function maxRangeShift(ranges: RangeOverride[]): number {
  return ranges.reduce((m, r) => Math.max(m, Math.abs(epochMs(r.start) - r.key)), 0);
}

/**
 * An instance after a THISANDFUTURE override: moved by the override's own shift in wall-clock time
 * (so "from now on at 11:00 instead of 10:00" stays 11:00 across a DST change), with its properties.
 */
function fromRange(range: RangeOverride, occ: IcalTime): Instance {
  const ridLocal = range.recurrenceId.isDate || isFloating(range.start) ? range.recurrenceId : range.recurrenceId.convertToZone(range.start.zone);
  const delta = range.start.subtractDate(ridLocal);
  const base = occ.isDate || isFloating(range.start) ? occ.clone() : occ.convertToZone(range.start.zone);
  const start = base.clone();
  start.addDuration(delta);
  return describe('range', range.component, occ, start);
}

// ---------------------------------------------------------------------------------------------
// Occurrences of the master: RRULE ∪ RDATE ∖ EXDATE, in order

interface OccurrenceOptions {
  maxInstances: number;
  floating: IcalTimezone | null;
  from: number | undefined;
  until: number | undefined;
}

/**
 * ical.js's RecurIterator.next() gives up on a rule that yields one occurrence twice (FREQ=SECONDLY
 * on a DATE DTSTART) with an Error whose only mark is its text ("Same occurrence found twice,
 * protecting you from death by recursion"); test/unit/ical-internals.test.ts checks it still does.
 */
export const ICAL_SAME_OCCURRENCE = /death by recursion/i;

/** The occurrences in order; returns whether a cap stopped them. */
function* occurrences(master: IcalComponent, dtstart: IcalTime, options: OccurrenceOptions): Generator<IcalTime, boolean> {
  const { floating } = options;
  const sources: Array<() => IcalTime | null> = [];
  // Per rule, a cap on the iterator's steps (candidates, years and months it walks through), so a
  // rule that never yields (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30) stops; the request's budget counts them too.
  const iteratorCap = Math.max(options.maxInstances * 5, 20_000);
  const rules: Array<{ rule: ICAL.Recur; start: IcalTime }> = [];
  for (const prop of master.getAllProperties('rrule')) {
    const rule = normalizeRule(prop.getFirstValue() as ICAL.Recur, dtstart);
    rules.push({ rule, start: fastForward(rule, dtstart, options.from, floating) });
  }

  // RDATE and DTSTART (RFC 5545: DTSTART is the first instance of an RDATE-only set)
  const dates = [...master.getAllProperties('rdate').flatMap((p) => p.getValues().map((v: unknown) => (v instanceof ICAL.Period ? v.start : (v as IcalTime))))];
  if (!master.hasProperty('rrule')) dates.push(dtstart);
  dates.sort((a, b) => epochMs(a, floating) - epochMs(b, floating));
  let di = 0;
  sources.push(() => (di < dates.length ? dates[di++]! : null));

  const excluded = new Set<string>();
  const excludedDays = new Set<string>();
  for (const prop of master.getAllProperties('exdate')) {
    for (const v of prop.getValues() as IcalTime[]) {
      if (v.isDate) excludedDays.add(`${v.year}-${v.month}-${v.day}`);
      else excluded.add(occurrenceKey(v));
    }
  }

  // a k-way merge of the sources, each already in order
  const heads: Array<IcalTime | null> = [];
  const headAt: number[] = [];
  const advance = (i: number) => {
    heads[i] = sources[i]!();
    headAt[i] = heads[i] ? epochMs(heads[i]!, floating) : Infinity;
  };
  let count = 0;
  let last: number | null = null;
  try {
    // created here: a rule's iterator already walks (and may reach its cap) in its constructor
    const ruleSources = rules.map(({ rule, start }) => {
      const iterator = countedIterator(rule, start, iteratorCap);
      return () => {
        for (;;) {
          spend();
          const next = iterator.next();
          if (!next) return null;
          if (acceptedByRule(rule, dtstart, next)) return next.clone();
        }
      };
    });
    sources.unshift(...ruleSources);
    for (let i = 0; i < sources.length; i++) advance(i);
    for (;;) {
      spend();
      let best = 0;
      for (let i = 1; i < heads.length; i++) if (headAt[i]! < headAt[best]!) best = i;
      const occ = heads[best];
      if (!occ) return false;
      const at = headAt[best]!;
      if (options.until !== undefined && at > options.until) return false;
      if (count >= options.maxInstances) return true;
      advance(best);
      if (at === last) continue; // an RDATE that the RRULE also yields
      last = at;
      if (excluded.has(occurrenceKey(occ)) || excludedDays.has(`${occ.year}-${occ.month}-${occ.day}`)) continue;
      count++;
      yield occ;
    }
  } catch (err) {
    if (!(err instanceof IteratorCapReached) && !ICAL_SAME_OCCURRENCE.test((err as Error).message)) throw err;
    return true;
  }
}

/**
 * Whether `rule` (from `dtstart`) yields a first instance within `cap` iterator steps: 'none' when
 * ical.js finds the rule ends without one (an UNTIL before DTSTART), 'cap' when the steps ran out
 * first — a rule like FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30 that would be searched to the year 20000.
 */
export function firstInstanceWithin(rule: ICAL.Recur, dtstart: IcalTime, cap: number): 'instance' | 'none' | 'cap' {
  const normalized = normalizeRule(rule, dtstart);
  try {
    const iterator = countedIterator(normalized, dtstart, cap);
    for (let next = iterator.next(); next; next = iterator.next()) {
      if (acceptedByRule(normalized, dtstart, next)) return 'instance';
    }
    return 'none';
  } catch (err) {
    if (err instanceof IteratorCapReached) return 'cap';
    throw err;
  }
}

/**
 * A DATE UNTIL with a DATE-TIME DTSTART (common, though RFC 5545 forbids it) means "through that
 * day"; ical.js would compare it as midnight and drop the last day's instance.
 */
function normalizeRule(rule: ICAL.Recur, dtstart: IcalTime): ICAL.Recur {
  if (!rule.until || !rule.until.isDate || dtstart.isDate) return rule;
  const copy = rule.clone();
  const until = dtstart.clone();
  until.year = rule.until.year;
  until.month = rule.until.month;
  until.day = rule.until.day;
  until.hour = 23;
  until.minute = 59;
  until.second = 59;
  copy.until = until;
  return copy;
}

/**
 * ical.js lets some invalid days through: FREQ=YEARLY on Feb 29 yields Mar 1 in common years,
 * BYMONTH=2;BYMONTHDAY=30 yields Mar 1 or 2. A real occurrence always sits in BYMONTH and on one of
 * the month days (BYMONTHDAY, or DTSTART's day for MONTHLY/YEARLY rules without BYDAY/BYYEARDAY/BYWEEKNO).
 */
function acceptedByRule(rule: ICAL.Recur, dtstart: IcalTime, occ: IcalTime): boolean {
  const parts = rule.parts;
  if (parts.BYMONTH?.length && !parts.BYMONTH.includes(occ.month)) return false;
  let days = parts.BYMONTHDAY;
  if (!days?.length && (rule.freq === 'MONTHLY' || rule.freq === 'YEARLY') && !parts.BYDAY?.length && !parts.BYYEARDAY?.length && !parts.BYWEEKNO?.length) {
    days = [dtstart.day];
  }
  if (!days?.length) return true;
  const length = ICAL.Time.daysInMonth(occ.month, occ.year);
  return days.some((d) => (d > 0 ? d === occ.day : length + d + 1 === occ.day));
}

const PERIOD_SECONDS: Partial<Record<string, number>> = { SECONDLY: 1, MINUTELY: 60, HOURLY: 3600, DAILY: 86_400, WEEKLY: 604_800 };

/**
 * A later DTSTART with the same recurrence set from there on: DTSTART moved by whole periods of the
 * rule (INTERVAL × FREQ) keeps every default the rule takes from DTSTART (time of day, weekday, day
 * of month) and the alignment of its periods. Not with COUNT (counting starts at DTSTART) or
 * BYSETPOS, nor for monthly/yearly rules starting after the 28th (the day would not exist).
 * Lands at or before `from`: the wall-clock move is checked against the instant (DST).
 */
function fastForward(rule: ICAL.Recur, dtstart: IcalTime, from: number | undefined, floating: IcalTimezone | null): IcalTime {
  if (from === undefined || rule.count || rule.parts.BYSETPOS?.length) return dtstart;
  const interval = Math.max(1, rule.interval || 1);
  const gap = from - epochMs(dtstart, floating);
  const seconds = PERIOD_SECONDS[rule.freq];
  if (seconds !== undefined) {
    const periodMs = seconds * interval * 1000;
    const move = (periods: number) => {
      const units = periods * interval;
      const t = dtstart.clone();
      if (rule.freq === 'SECONDLY') t.adjust(0, 0, 0, units);
      else if (rule.freq === 'MINUTELY') t.adjust(0, 0, units, 0);
      else if (rule.freq === 'HOURLY') t.adjust(0, units, 0, 0);
      else return addDays(t, units * (rule.freq === 'WEEKLY' ? 7 : 1));
      return t;
    };
    let periods = Math.floor(gap / periodMs);
    if (periods <= 1) return dtstart;
    let t = move(periods);
    for (let over = epochMs(t, floating) - from; over > 0 && periods > 0; over = epochMs(t, floating) - from) {
      periods = Math.max(0, periods - Math.max(1, Math.ceil(over / periodMs)));
      t = move(periods);
    }
    return t;
  }
  if ((rule.freq !== 'MONTHLY' && rule.freq !== 'YEARLY') || dtstart.day > 28) return dtstart;
  const months = interval * (rule.freq === 'YEARLY' ? 12 : 1);
  const move = (periods: number) => {
    const total = dtstart.year * 12 + (dtstart.month - 1) + periods * months;
    const t = dtstart.clone();
    t.year = Math.floor(total / 12);
    t.month = (total % 12) + 1;
    return t;
  };
  // start from a guess that is surely early (31-day months), then walk up to the last period start before `from`
  let periods = Math.floor(gap / (months * 31 * 86_400_000));
  if (periods <= 1) return dtstart;
  while (epochMs(move(periods + 1), floating) <= from) periods++;
  return move(periods);
}

/** RDATE;VALUE=PERIOD gives its instance its own end. */
function rdatePeriods(master: IcalComponent): Map<string, IcalTime> {
  const ends = new Map<string, IcalTime>();
  for (const prop of master.getAllProperties('rdate')) {
    for (const v of prop.getValues()) {
      if (v instanceof ICAL.Period) ends.set(occurrenceKey(v.start), v.end ?? addDuration(v.start, v.duration));
    }
  }
  return ends;
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
