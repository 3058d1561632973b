/**
 * Time zones and instants.
 *
 * ical.js 2 resolves a TZID against the VTIMEZONEs of the property's own VCALENDAR, so an object's
 * zones are never put in a process-wide registry (two objects may define one TZID differently).
 * Two things are added here:
 * - a content-addressed cache of `ICAL.Timezone`s: expanding a zone is expensive (an Outlook zone
 *   with `DTSTART:16010101` costs ~20 ms the first time), and identical VTIMEZONE text always means
 *   the identical zone, so every object carrying it shares one expansion;
 * - a fallback for a TZID that has no VTIMEZONE in the object: when Node's IANA database (Intl)
 *   knows the name, a zone is synthesised from it and registered in ical.js's TimezoneService, the
 *   place ical.js looks last. IANA names mean the same everywhere, so a shared registry is safe.
 *
 * Instants are epoch milliseconds. Floating times and DATE values have no zone: RFC 4791 §9.9
 * compares them in the calendar's time zone when one is given, else as UTC.
 */
import ICAL from 'ical.js';
import { spend, StepBudgetExceeded } from './budget.js';
import { checkStructure, ZONE_HORIZON_YEAR } from './structure.js';
import { CalendarPreconditionError } from './errors.js';
import { Lru } from '../../../backends/util/lru.js';

export type IcalTime = ICAL.Time;
export type IcalTimezone = ICAL.Timezone;
export type IcalDuration = ICAL.Duration;
export type IcalComponent = ICAL.Component;

const MS = 1000;

export function isFloating(t: IcalTime): boolean {
  return t.isDate || !t.zone || t.zone === ICAL.Timezone.localTimezone || t.zone.tzid === 'floating';
}

/** Epoch ms of a time; floating times and dates are read in `floating` (UTC when absent). */
export function epochMs(t: IcalTime, floating?: IcalTimezone | null): number {
  if (floating && isFloating(t)) {
    const copy = t.clone();
    copy.isDate = false;
    copy.zone = floating;
    return copy.toUnixTime() * MS;
  }
  return t.toUnixTime() * MS;
}

/** The wall-clock time in `zone` at an instant (floating zone: the UTC wall clock). */
export function timeAt(ms: number, zone: IcalTimezone): IcalTime {
  const t = ICAL.Time.fromJSDate(new Date(Math.floor(ms / MS) * MS), true);
  if (zone === ICAL.Timezone.utcTimezone) return t;
  if (zone === ICAL.Timezone.localTimezone || zone.tzid === 'floating') {
    t.zone = ICAL.Timezone.localTimezone;
    return t;
  }
  return t.convertToZone(zone);
}

/**
 * A value as "date with UTC time" (RFC 4791 §9.6.5): zoned date-times are converted; DATE values
 * stay dates; floating times are converted only when the calendar's zone is known.
 */
export function toUtc(t: IcalTime, floating?: IcalTimezone | null): IcalTime {
  if (t.isDate) return t.clone();
  if (isFloating(t)) return floating ? timeAt(epochMs(t, floating), ICAL.Timezone.utcTimezone) : t.clone();
  return t.convertToZone(ICAL.Timezone.utcTimezone);
}

/**
 * `t + d` as RFC 5545 §3.3.6 defines it: weeks and days are nominal (the wall clock moves by whole
 * days across a DST change), hours, minutes and seconds are exact.
 */
export function addDuration(t: IcalTime, d: IcalDuration): IcalTime {
  const sign = d.isNegative ? -1 : 1;
  const days = sign * (d.weeks * 7 + d.days);
  const seconds = sign * (d.hours * 3600 + d.minutes * 60 + d.seconds);
  let r = days ? addDays(t, days) : t.clone();
  if (seconds) {
    if (r.isDate) r.isDate = false;
    if (isFloating(r) || r.zone === ICAL.Timezone.utcTimezone) r.adjust(0, 0, 0, seconds);
    else r = timeAt(r.toUnixTime() * MS + seconds * MS, r.zone);
  }
  return r;
}

/**
 * `t` moved by whole days of the wall clock. (ical.js's adjust() walks month by month; through it,
 * expanding a yearly rule over centuries was quadratic.)
 */
export function addDays(t: IcalTime, days: number): IcalTime {
  const r = t.clone();
  const d = new Date(0);
  d.setUTCFullYear(t.year, t.month - 1, t.day + days); // unlike Date.UTC, no 19xx for years < 100
  r.year = d.getUTCFullYear();
  r.month = d.getUTCMonth() + 1;
  r.day = d.getUTCDate();
  return r;
}

export function durationMs(d: IcalDuration): number {
  return d.toSeconds() * MS;
}

/** `YYYYMMDDTHHMMSSZ` (RFC 4791 §9.9: "date with UTC time") → epoch ms; a missing `Z` is tolerated. */
export function parseUtcDateTime(value: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z?$/.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

export function formatUtcDateTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

// ---------------------------------------------------------------------------------------------
// Zones of one object

type JCalProperty = [string, Record<string, unknown>, string, ...unknown[]];
type JCalComponent = [string, JCalProperty[], JCalComponent[]];

/**
 * Repairs, in place and before any value is decorated, two quirks of real clients:
 * - TZIDs with a trailing space (Microsoft writes `TZID:W. Europe Standard Time ` and references
 *   it without the space, or the other way round): trimmed everywhere;
 * - a DATE written without VALUE=DATE (`DTSTART:20240101`), which ical.js would read as a broken
 *   date-time: typed as the date it is.
 */
export function normalizeJcal(jcal: JCalComponent): void {
  const [name, props, comps] = jcal;
  for (const prop of props) {
    const params = prop[1];
    if (typeof params.tzid === 'string') params.tzid = params.tzid.trim();
    if (name === 'vtimezone' && prop[0] === 'tzid' && typeof prop[3] === 'string') prop[3] = prop[3].trim();
    if (prop[2] === 'date-time' && prop.slice(3).every((v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T::$/.test(v))) {
      prop[2] = 'date';
      for (let i = 3; i < prop.length; i++) prop[i] = (prop[i] as string).slice(0, 10);
      delete params.tzid;
    }
  }
  for (const c of comps) normalizeJcal(c);
}

/**
 * A zone whose expansion is bounded. ical.js expands a zone's observances from their DTSTART up to
 * five years past any year it is asked about, and on each later year it appends every change once
 * more (the list grows by a full copy per expansion). Here the list is rebuilt instead, expansion
 * stops at ZONE_HORIZON_YEAR (later instants keep the last offset; stored objects end in 2100), and
 * each change costs a step of the request's budget. structure.ts has already refused observances
 * whose changes up to that year would exceed MAX_ZONE_CHANGES. Each conversion costs a step too.
 * It relies on ical.js internals (utcOffset calls `this._ensureCoverage(year)`, the private
 * `expandedUntilYear`, `changes` rebuilt when emptied): ical.js is pinned to the exact version they
 * were checked against, and test/unit/ical-internals.test.ts fails if they change.
 */
class BoundedTimezone extends ICAL.Timezone {
  /** Its key in the zone cache, where it is shared by content. */
  cacheKey?: string;

  /** One conversion costs a step: ical.js's utcOffset copies and adjusts changes (~20 µs a call). */
  override utcOffset(tt: IcalTime): number {
    spend();
    return super.utcOffset(tt);
  }

  override _ensureCoverage(year: number): void {
    const y = Math.min(year, ZONE_HORIZON_YEAR);
    // ical.js declares it private; it is the year the changes reach
    const reached = (this as unknown as { expandedUntilYear: number }).expandedUntilYear;
    if (this.changes.length && reached >= y) return;
    this.changes = [];
    try {
      super._ensureCoverage(y);
    } catch (err) {
      if (err instanceof StepBudgetExceeded) throw err;
      this.changes = [];
      throw new CalendarPreconditionError('valid-calendar-data', `VTIMEZONE ${this.tzid} cannot be expanded: ${(err as Error).message}`, { cause: err });
    }
    spend(this.changes.length);
    if (this.cacheKey) zoneCache.set(this.cacheKey, this); // weighed again, now expanded
  }
}

/**
 * Zones shared by content, bounded by an estimate of their bytes (an expanded zone holds up to
 * MAX_ZONE_CHANGES changes, ~1.5 MB: a count bound let hostile zones hold ~600 MB). A zone is
 * weighed again once it has expanded, so its weight is never the small one it was inserted with.
 * Process-wide by nature, not any tree's state: keyed by the zone's own text, which means the same
 * zone whichever user or calendar carries it (and so are the IANA zones below, keyed by name).
 */
const ZONE_CACHE_BYTES = 32 * 1024 * 1024;
/** One expanded change: an object of nine small fields, with its array slot. */
const CHANGE_BYTES = 160;
const zoneCache = new Lru<BoundedTimezone>(ZONE_CACHE_BYTES, (z) => 2 * (z.cacheKey?.length ?? 0) + z.changes.length * CHANGE_BYTES + 4096);

/** Bytes the zone cache holds by its estimate, and its bound (tests). */
export function zoneCacheBytes(): { held: number; limit: number } {
  return { held: zoneCache.weightHeld, limit: ZONE_CACHE_BYTES };
}

function cachedZone(vtimezone: IcalComponent, tzid: string): IcalTimezone {
  const key = `${tzid}\n${JSON.stringify(vtimezone.jCal)}`;
  let zone = zoneCache.get(key);
  if (!zone) {
    // a detached copy: the cached zone must not keep the first object's whole VCALENDAR alive
    zone = new BoundedTimezone({ component: new ICAL.Component(structuredClone(vtimezone.jCal)), tzid });
    zone.cacheKey = key;
    zoneCache.set(key, zone);
  }
  return zone;
}

/**
 * Makes every TZID of the object resolvable before its values are read: its own VTIMEZONEs (shared
 * through the cache), then the IANA fallback for the rest. Returns the object's own zones by TZID.
 */
export function attachTimezones(vcalendar: IcalComponent): Map<string, IcalTimezone> {
  const own = new Map<string, IcalTimezone>();
  // ical.js looks in this (private) per-VCALENDAR cache first; filling it is what lets objects
  // share a zone's expansion. The public getTimeZoneByID would build a fresh zone per object.
  const cache = (vcalendar as unknown as { _timezoneCache?: Map<string, IcalTimezone> | null })._timezoneCache;
  for (const vtz of vcalendar.getAllSubcomponents('vtimezone')) {
    const tzid = vtz.getFirstPropertyValue('tzid');
    if (typeof tzid !== 'string' || !tzid || own.has(tzid)) continue;
    const zone = cachedZone(vtz, tzid);
    own.set(tzid, zone);
    cache?.set(tzid, zone);
  }
  for (const tzid of referencedTzids(vcalendar.jCal as JCalComponent)) {
    if (!own.has(tzid)) systemTimezone(tzid);
  }
  return own;
}

function referencedTzids(jcal: JCalComponent, out = new Set<string>()): Set<string> {
  for (const prop of jcal[1]) if (typeof prop[1].tzid === 'string') out.add(prop[1].tzid);
  for (const c of jcal[2]) if (c[0] !== 'vtimezone') referencedTzids(c, out);
  return out;
}

/**
 * The zone of a CALDAV:timezone or calendar-timezone value (a VCALENDAR with one VTIMEZONE), for
 * floating times; null when the text holds none.
 */
export function parseTimezone(text: string): IcalTimezone | null {
  let root: IcalComponent;
  try {
    checkStructure(text);
    const jcal = ICAL.parse(text.replace(/^\uFEFF/, ''));
    if (!Array.isArray(jcal) || typeof jcal[0] !== 'string') return null;
    normalizeJcal(jcal as JCalComponent);
    root = new ICAL.Component(jcal);
  } catch (err) {
    if (err instanceof StepBudgetExceeded) throw err;
    return null;
  }
  const vtz = root.name === 'vtimezone' ? root : root.getFirstSubcomponent('vtimezone');
  const tzid = vtz?.getFirstPropertyValue('tzid');
  return vtz && typeof tzid === 'string' && tzid ? cachedZone(vtz, tzid) : null;
}

// ---------------------------------------------------------------------------------------------
// Zones from Node's IANA database

const SYNTH_FROM = Date.UTC(1970, 0, 1);
const SYNTH_TO = Date.UTC(2100, 0, 1);
const WEEK = 7 * 86_400_000;
const failedSystemZones = new Set<string>();

/**
 * The zone ical.js will use for a TZID the object does not define: an IANA zone from Intl, built
 * once per process and registered with ical.js's TimezoneService. Null when Intl does not know it.
 */
export function systemTimezone(tzid: string): IcalTimezone | null {
  if (ICAL.TimezoneService.has(tzid)) return ICAL.TimezoneService.get(tzid);
  if (failedSystemZones.has(tzid) || failedSystemZones.size > 10_000) return null;
  let zone: IcalTimezone | null = null;
  if (/^(UTC|GMT|Z|Etc\/(UTC|GMT|Zulu|Universal))$/i.test(tzid)) zone = ICAL.Timezone.utcTimezone;
  else {
    const text = intlVtimezone(tzid);
    if (text) zone = new ICAL.Timezone({ component: ICAL.Component.fromString(text), tzid });
  }
  if (!zone) {
    failedSystemZones.add(tzid);
    return null;
  }
  ICAL.TimezoneService.register(zone, tzid);
  return zone;
}

function offsetFormatter(tzid: string): Intl.DateTimeFormat | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tzid, timeZoneName: 'longOffset' });
  } catch {
    return null; // RangeError: not an IANA name (e.g. a Windows name without its VTIMEZONE)
  }
}

/** UTC offset in minutes at an instant ("GMT+05:30" → 330). */
function offsetAt(fmt: Intl.DateTimeFormat, ms: number): number {
  const name = fmt.formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

function formatOffset(minutes: number): string {
  const a = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}${String(a % 60).padStart(2, '0')}`;
}

function localStamp(ms: number, offsetMinutes: number): string {
  return formatUtcDateTime(ms + offsetMinutes * 60_000).slice(0, 15);
}

/**
 * A VTIMEZONE with one observance per transition between 1970 and 2100, found by sampling the
 * offset weekly and bisecting to the minute
 * (two changes within one week, unknown since 1970, would be missed). (One RDATE value per property: ical.js reads only the
 * first value of an RDATE inside a VTIMEZONE.)
 */
function intlVtimezone(tzid: string): string | null {
  const fmt = offsetFormatter(tzid);
  if (!fmt) return null;
  const lines = ['BEGIN:VTIMEZONE', `TZID:${tzid}`];
  let prev = offsetAt(fmt, SYNTH_FROM);
  lines.push('BEGIN:STANDARD', `DTSTART:${localStamp(SYNTH_FROM, prev)}`, `TZOFFSETFROM:${formatOffset(prev)}`,
    `TZOFFSETTO:${formatOffset(prev)}`, 'END:STANDARD');
  for (let t = SYNTH_FROM + WEEK; t <= SYNTH_TO; t += WEEK) {
    const now = offsetAt(fmt, t);
    if (now === prev) continue;
    let lo = t - WEEK;
    let hi = t;
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
      if (offsetAt(fmt, mid) === prev) lo = mid;
      else hi = mid;
    }
    const kind = now > prev ? 'DAYLIGHT' : 'STANDARD';
    lines.push(`BEGIN:${kind}`, `DTSTART:${localStamp(hi, prev)}`, `TZOFFSETFROM:${formatOffset(prev)}`,
      `TZOFFSETTO:${formatOffset(now)}`, `END:${kind}`);
    prev = now;
  }
  lines.push('END:VTIMEZONE');
  return lines.join('\r\n');
}
