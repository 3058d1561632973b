/**
 * CALDAV:free-busy-query (RFC 4791 §7.10): the busy time of a set of calendar objects in a range,
 * as one VFREEBUSY with FREEBUSY periods in UTC.
 *
 * What counts (§7.10): VEVENT instances that overlap the range, unless TRANSP:TRANSPARENT or
 * STATUS:CANCELLED; STATUS:TENTATIVE is BUSY-TENTATIVE, anything else BUSY. VFREEBUSY components
 * contribute their FREEBUSY periods of a busy type. Recurrences are expanded, overrides judged on
 * their own properties. Periods are clipped to the range and merged per type.
 */
import ICAL from 'ical.js';
import type { CalendarObject } from './object.js';
import { eventEnd, freeBusyPeriods, instancesInRange, timeRange, type Period, type TimeRange, type TimeRangeOptions } from './timerange.js';
import { spend, StepBudgetExceeded } from './budget.js';
import { epochMs, formatUtcDateTime } from './tz.js';

export type BusyType = 'BUSY' | 'BUSY-TENTATIVE' | 'BUSY-UNAVAILABLE';

export interface BusyPeriod extends Period {
  readonly type: BusyType;
}

export interface FreeBusyOptions extends TimeRangeOptions {
  /**
   * Called for an object that cannot be evaluated (a stored object that predates a check): it is left
   * out and the rest answered. Without it the error propagates. The step budget always propagates.
   */
  onError?: (object: CalendarObject, err: unknown) => void;
  /** DTSTAMP of the answer (tests pass a fixed one). */
  now?: Date;
  prodId?: string;
}

const BUSY_TYPES = new Set<string>(['BUSY', 'BUSY-TENTATIVE', 'BUSY-UNAVAILABLE']);

/** Busy periods of the objects within [start, end), clipped, merged per type, in order. */
export function busyPeriods(objects: Iterable<CalendarObject>, start: Date, end: Date, options: FreeBusyOptions = {}): BusyPeriod[] {
  const range = timeRange(start, end);
  const raw: BusyPeriod[] = [];
  const add = (type: BusyType, s: number, e: number) => {
    const cs = Math.max(s, range.start);
    const ce = Math.min(e, range.end);
    spend();
    if (ce > cs) raw.push({ type, start: cs, end: ce });
  };

  for (const object of objects) {
    const before = raw.length;
    try {
      objectBusy(object, range, options, add);
    } catch (err) {
      if (err instanceof StepBudgetExceeded || !options.onError) throw err;
      raw.length = before;
      options.onError(object, err);
    }
  }
  return merge(raw);
}

function objectBusy(object: CalendarObject, range: TimeRange, options: FreeBusyOptions, add: (type: BusyType, s: number, e: number) => void): void {
  const floating = options.floatingTimezone ?? null;
  if (object.componentType === 'VEVENT') {
    for (const inst of instancesInRange(object, range, options).instances) {
      const c = inst.component;
      if (String(c.getFirstPropertyValue('transp') ?? '').toUpperCase() === 'TRANSPARENT') continue;
      const status = String(c.getFirstPropertyValue('status') ?? '').toUpperCase();
      if (status === 'CANCELLED') continue;
      add(status === 'TENTATIVE' ? 'BUSY-TENTATIVE' : 'BUSY', epochMs(inst.start!, floating), eventEnd(inst, floating)!);
    }
  } else if (object.componentType === 'VFREEBUSY') {
    for (const c of [object.master, ...object.overrides]) {
      if (!c) continue;
      for (const p of freeBusyPeriods(c, floating)) if (BUSY_TYPES.has(p.type)) add(p.type as BusyType, p.start, p.end);
    }
  }
}

/** Periods merged per type where they overlap or touch, in order (for busy periods gathered in parts). */
export function mergeBusyPeriods(periods: BusyPeriod[]): BusyPeriod[] {
  return merge(periods);
}

function merge(periods: BusyPeriod[]): BusyPeriod[] {
  const out: BusyPeriod[] = [];
  const sorted = [...periods].sort((a, b) => a.type.localeCompare(b.type) || a.start - b.start);
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last && last.type === p.type && p.start <= last.end) out[out.length - 1] = { ...last, end: Math.max(last.end, p.end) };
    else out.push(p);
  }
  return out.sort((a, b) => a.start - b.start || a.type.localeCompare(b.type));
}

/** The free-busy-query answer: a VCALENDAR with one VFREEBUSY for [start, end). */
export function freeBusyReport(objects: Iterable<CalendarObject>, start: Date, end: Date, options: FreeBusyOptions = {}): string {
  return freeBusyCalendar(busyPeriods(objects, start, end, options), start, end, options);
}

/** The VCALENDAR with one VFREEBUSY for [start, end) holding `periods` (merged, in order). */
export function freeBusyCalendar(periods: readonly BusyPeriod[], start: Date, end: Date, options: FreeBusyOptions = {}): string {
  const utc = (ms: number) => ICAL.Time.fromJSDate(new Date(ms), true);
  const vcalendar = new ICAL.Component('vcalendar');
  vcalendar.addPropertyWithValue('version', '2.0');
  vcalendar.addPropertyWithValue('prodid', options.prodId ?? '-//gitdav//CalDAV//EN');
  const fb = new ICAL.Component('vfreebusy');
  fb.addPropertyWithValue('dtstamp', utc(+(options.now ?? new Date())));
  fb.addPropertyWithValue('dtstart', utc(+start));
  fb.addPropertyWithValue('dtend', utc(+end));
  for (const p of periods) {
    const prop = fb.addPropertyWithValue('freebusy', ICAL.Period.fromData({ start: utc(p.start), end: utc(p.end) }));
    if (p.type !== 'BUSY') prop.setParameter('fbtype', p.type); // BUSY is the default (RFC 5545 §3.2.9)
  }
  vcalendar.addSubcomponent(fb);
  return `${vcalendar.toString()}\r\n`;
}

/** A period as RFC 5545 writes it, for tests and logs: 20240101T100000Z/20240101T110000Z. */
export function formatPeriod(p: Period): string {
  return `${formatUtcDateTime(p.start)}/${formatUtcDateTime(p.end)}`;
}
