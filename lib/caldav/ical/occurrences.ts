/**
 * The occurrences of a master component: RRULE ∪ RDATE ∖ EXDATE, in order of start, by ical.js's
 * RecurIterator (counted, counted-iterator.ts) with its gaps filled: a DATE UNTIL means through that
 * day, invalid days ical.js lets through are dropped, and unbounded rules skip ahead (fast-forward.ts).
 */
import ICAL from 'ical.js';
import { spend } from './budget.js';
import { countedIterator, IteratorCapReached } from './counted-iterator.js';
import { fastForward } from './fast-forward.js';
import { addDuration, epochMs, type IcalComponent, type IcalTime, type IcalTimezone } from './tz.js';

/** Identity of an occurrence for matching RECURRENCE-IDs and EXDATEs: the instant, or the date. */
export function occurrenceKey(t: IcalTime): string {
  return t.isDate ? `d${t.year}-${t.month}-${t.day}` : `t${t.toUnixTime()}`;
}

export interface OccurrenceOptions {
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
export function* occurrences(master: IcalComponent, dtstart: IcalTime, options: OccurrenceOptions): Generator<IcalTime, boolean> {
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

/** RDATE;VALUE=PERIOD gives its instance its own end. */
export function rdatePeriods(master: IcalComponent): Map<string, IcalTime> {
  const ends = new Map<string, IcalTime>();
  for (const prop of master.getAllProperties('rdate')) {
    for (const v of prop.getValues()) {
      if (v instanceof ICAL.Period) ends.set(occurrenceKey(v.start), v.end ?? addDuration(v.start, v.duration));
    }
  }
  return ends;
}
