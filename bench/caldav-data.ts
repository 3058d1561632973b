/**
 * The CalDAV bench's calendar: N events (seeded, the same bytes every run) spread over 2025–2026, every
 * 10th one recurring (FREQ=WEEKLY with COUNT or UNTIL, some with EXDATE, some with a RECURRENCE-ID
 * override in the same resource), some of them in Europe/Berlin or America/New_York with a full
 * VTIMEZONE. A handful of slots hold hand-made edge cases ("probes") around the query month. The
 * generator also knows, from its own arithmetic (Intl for the zones, not an iCalendar library), which
 * events overlap any UTC time-range, so every server's calendar-query answer can be checked.
 */

export interface CalEvent {
  /** Resource name in the calendar collection, e.g. ev-00042.ics. */
  name: string;
  uid: string;
  ics: string;
  recurring: boolean;
  /** Set on the hand-made edge cases. */
  probe?: string;
  /** [start, end) in ms since the epoch, UTC, of every instance (EXDATEs removed, overrides applied). */
  instances: [number, number][];
}

/** The month calendar-query asks for: both DST switches (US on Mar 8, EU on Mar 29) fall inside. */
export const QUERY_RANGE = { start: Date.UTC(2026, 2, 1), end: Date.UTC(2026, 3, 1) };

const SPAN_START = Date.UTC(2025, 0, 1);
const SPAN_DAYS = 730;
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const ZONES = ['Europe/Berlin', 'America/New_York'] as const;
type Zone = (typeof ZONES)[number];

const VTIMEZONE: Record<Zone, string> = {
  'Europe/Berlin': [
    'BEGIN:VTIMEZONE',
    'TZID:Europe/Berlin',
    'BEGIN:DAYLIGHT',
    'TZOFFSETFROM:+0100',
    'TZOFFSETTO:+0200',
    'TZNAME:CEST',
    'DTSTART:19700329T020000',
    'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
    'END:DAYLIGHT',
    'BEGIN:STANDARD',
    'TZOFFSETFROM:+0200',
    'TZOFFSETTO:+0100',
    'TZNAME:CET',
    'DTSTART:19701025T030000',
    'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
    'END:STANDARD',
    'END:VTIMEZONE',
  ].join('\r\n'),
  'America/New_York': [
    'BEGIN:VTIMEZONE',
    'TZID:America/New_York',
    'BEGIN:DAYLIGHT',
    'TZOFFSETFROM:-0500',
    'TZOFFSETTO:-0400',
    'TZNAME:EDT',
    'DTSTART:20070311T020000',
    'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU',
    'END:DAYLIGHT',
    'BEGIN:STANDARD',
    'TZOFFSETFROM:-0400',
    'TZOFFSETTO:-0500',
    'TZNAME:EST',
    'DTSTART:20071104T020000',
    'RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU',
    'END:STANDARD',
    'END:VTIMEZONE',
  ].join('\r\n'),
};

/** mulberry32: small, seeded, good enough to spread events (and the CardDAV section's contacts). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A wall-clock time: fields as in Date.UTC (month 0-based). */
interface Local {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const localOf = (ms: number): Local => {
  const d = new Date(ms);
  return { y: d.getUTCFullYear(), mo: d.getUTCMonth(), d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes() };
};
const wall = (l: Local) => Date.UTC(l.y, l.mo, l.d, l.h, l.mi);
const icsLocal = (l: Local) => `${l.y}${pad(l.mo + 1)}${pad(l.d)}T${pad(l.h)}${pad(l.mi)}00`;
const icsUtc = (ms: number) => icsLocal(localOf(ms)) + 'Z';

const formatters = new Map<string, Intl.DateTimeFormat>();
/** UTC offset of `zone` at the instant `ms`, in ms. */
function offsetAt(zone: Zone, ms: number): number {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    formatters.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute)) - ms;
}

/** The instant a wall-clock time in `zone` stands for (no times in a DST gap or overlap are generated). */
function toUtc(l: Local, zone: Zone | undefined): number {
  const w = wall(l);
  if (!zone) return w;
  let guess = w - offsetAt(zone, w);
  guess = w - offsetAt(zone, guess);
  return guess;
}

/** A start/end (or duration) pair as iCalendar lines, UTC or in a zone. */
function when(name: 'DTSTART' | 'DTEND' | 'RECURRENCE-ID' | 'EXDATE', l: Local, zone: Zone | undefined): string {
  return zone ? `${name};TZID=${zone}:${icsLocal(l)}` : `${name}:${icsLocal(l)}Z`;
}

const WORDS = 'review planning standup sync lunch dentist call workshop retro budget demo interview training offsite gym concert dinner flight'.split(' ');
const PLACES = ['Room 1', 'Room 2', 'Berlin office', 'Zoom', 'Café Mitte', 'Home', ''];

interface Spec {
  start: Local;
  minutes: number;
  zone?: Zone;
  useDuration?: boolean;
  rule?: { count?: number; untilMs?: number; interval?: number };
  /** Instance indexes (0-based, of the rule's instances) removed by EXDATE. */
  exdates?: number[];
  /** One instance (by index) moved: new start, in the same zone. */
  override?: { index: number; start: Local; minutes: number };
  summary: string;
  description: string;
  location: string;
}

const addDays = (l: Local, days: number): Local => localOf(wall(l) + days * DAY);
const addMinutes = (l: Local, minutes: number): Local => localOf(wall(l) + minutes * 60_000);

/** Wall-clock starts of a weekly rule, bounded (COUNT, UNTIL, or 400 at most). */
function weeklyStarts(s: Spec): Local[] {
  const out: Local[] = [];
  const interval = s.rule?.interval ?? 1;
  for (let k = 0; k < 400; k++) {
    const l = addDays(s.start, 7 * interval * k);
    if (s.rule?.count !== undefined && k >= s.rule.count) break;
    if (s.rule?.untilMs !== undefined && toUtc(l, s.zone) > s.rule.untilMs) break;
    out.push(l);
  }
  return out;
}

function build(i: number, s: Spec, probe?: string): CalEvent {
  const uid = `bench-${pad(i, 5)}@gitdav.bench`;
  const stamp = 'DTSTAMP:20250101T000000Z';
  const endLines = (start: Local, minutes: number) => (s.useDuration ? [`DURATION:PT${minutes}M`] : [when('DTEND', addMinutes(start, minutes), s.zone)]);
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//gitdav//bench//EN', 'CALSCALE:GREGORIAN'];
  if (s.zone) lines.push(VTIMEZONE[s.zone]);
  lines.push('BEGIN:VEVENT', `UID:${uid}`, stamp, when('DTSTART', s.start, s.zone), ...endLines(s.start, s.minutes), `SUMMARY:${s.summary}`);
  if (s.location) lines.push(`LOCATION:${s.location}`);
  lines.push(`DESCRIPTION:${s.description}`);
  const instances: [number, number][] = [];
  if (s.rule) {
    const parts = ['FREQ=WEEKLY'];
    if (s.rule.interval && s.rule.interval > 1) parts.push(`INTERVAL=${s.rule.interval}`);
    if (s.rule.count !== undefined) parts.push(`COUNT=${s.rule.count}`);
    if (s.rule.untilMs !== undefined) parts.push(`UNTIL=${icsUtc(s.rule.untilMs)}`);
    lines.push(`RRULE:${parts.join(';')}`);
    const starts = weeklyStarts(s);
    for (const k of s.exdates ?? []) if (starts[k]) lines.push(when('EXDATE', starts[k]!, s.zone));
    starts.forEach((l, k) => {
      if (s.exdates?.includes(k) || s.override?.index === k) return;
      const a = toUtc(l, s.zone);
      instances.push([a, toUtc(addMinutes(l, s.minutes), s.zone)]);
    });
    lines.push('END:VEVENT');
    const o = s.override;
    if (o && starts[o.index]) {
      lines.push(
        'BEGIN:VEVENT',
        `UID:${uid}`,
        stamp,
        when('RECURRENCE-ID', starts[o.index]!, s.zone),
        when('DTSTART', o.start, s.zone),
        ...endLines(o.start, o.minutes),
        `SUMMARY:${s.summary} (moved)`,
        'SEQUENCE:1',
        'END:VEVENT',
      );
      instances.push([toUtc(o.start, s.zone), toUtc(addMinutes(o.start, o.minutes), s.zone)]);
    }
  } else {
    lines.push('END:VEVENT');
    instances.push([toUtc(s.start, s.zone), toUtc(addMinutes(s.start, s.minutes), s.zone)]);
  }
  lines.push('END:VCALENDAR');
  return { name: `ev-${pad(i, 5)}.ics`, uid, ics: lines.join('\r\n') + '\r\n', recurring: !!s.rule, probe, instances };
}

const L = (y: number, mo: number, d: number, h: number, mi = 0): Local => ({ y, mo: mo - 1, d, h, mi });
const plain = { summary: 'probe', description: 'edge case', location: '' };

/**
 * Edge cases around the query month [2026-03-01, 2026-04-01) UTC, each with the answer RFC 4791
 * gives: `hit` says whether calendar-query must return it. Slots 0–4 are recurring, 5–8 not.
 */
export const PROBES: { name: string; hit: boolean; spec: Spec }[] = [
  // Feb 16, Feb 23, Mar 2 — and Mar 2 is an EXDATE: nothing left in March.
  { name: 'EXDATE removes the only March instance', hit: false, spec: { ...plain, start: L(2026, 2, 16, 10), minutes: 60, rule: { count: 3 }, exdates: [2] } },
  // Same series, the Mar 2 instance moved to Feb 27 by a RECURRENCE-ID override.
  { name: 'override moves the only March instance out', hit: false, spec: { ...plain, start: L(2026, 2, 16, 10), minutes: 60, rule: { count: 3 }, override: { index: 2, start: L(2026, 2, 27, 10), minutes: 60 } } },
  // Jan 5, 12, 19; the Jan 19 instance moved to Mar 10.
  { name: 'override moves an instance into March', hit: true, spec: { ...plain, start: L(2026, 1, 5, 10), minutes: 60, rule: { count: 3 }, override: { index: 2, start: L(2026, 3, 10, 10), minutes: 60 } } },
  // Tuesdays 19:30 in New York from Mar 31: 23:30Z in EDT (in range); an EST offset would say 00:30Z Apr 1.
  { name: 'America/New_York DST: Mar 31 19:30 EDT = 23:30Z', hit: true, spec: { ...plain, start: L(2026, 3, 31, 19, 30), minutes: 20, zone: 'America/New_York', rule: { count: 2 } } },
  // Feb 17, Feb 24, Mar 3 12:00Z with UNTIL exactly Mar 3 12:00Z: UNTIL is inclusive.
  { name: 'UNTIL equal to the last instance (inclusive)', hit: true, spec: { ...plain, start: L(2026, 2, 17, 12), minutes: 30, rule: { untilMs: Date.UTC(2026, 2, 3, 12) } } },
  // 00:30–00:45 on Mar 1 in Berlin is Feb 28 23:30–23:45Z.
  { name: 'Europe/Berlin Mar 1 00:30 local = Feb 28 23:30Z', hit: false, spec: { ...plain, start: L(2026, 3, 1, 0, 30), minutes: 15, zone: 'Europe/Berlin' } },
  // Ends exactly at the range start: ranges are half-open.
  { name: 'DTEND equal to the range start', hit: false, spec: { ...plain, start: L(2026, 2, 28, 23), minutes: 60 } },
  // Starts exactly at the range end.
  { name: 'DTSTART equal to the range end', hit: false, spec: { ...plain, start: L(2026, 4, 1, 0), minutes: 60 } },
  // DURATION carries it over the range start.
  { name: 'DURATION reaches into the range', hit: true, spec: { ...plain, start: L(2026, 2, 28, 22), minutes: 180, useDuration: true } },
];

/** `count` events (the first `count` of the same sequence for any count). */
export function generateCalendar(count: number, seed = 20261123): CalEvent[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const events: CalEvent[] = [];
  let recurringProbe = 0;
  let plainProbe = 5;
  for (let i = 0; i < count; i++) {
    const recurring = i % 10 === 0;
    // Draw the same random numbers whether or not a probe takes the slot, so the rest never shifts.
    const day = int(0, SPAN_DAYS - 1);
    const start = localOf(SPAN_START + day * DAY + int(7 * 4, 20 * 4) * 15 * 60_000); // 07:00–20:00, no DST gaps
    const minutes = pick([15, 30, 30, 45, 60, 60, 60, 90, 120, 180]);
    const zone = rand() < (recurring ? 0.4 : 0.15) ? pick(ZONES) : undefined;
    const useDuration = rand() < 0.1;
    const summary = `${pick(WORDS)} ${pick(WORDS)} #${i}`;
    const description = `Bench event ${i}: ${Array.from({ length: int(4, 20) }, () => pick(WORDS)).join(' ')}`;
    const location = pick(PLACES);
    const byCount = rand() < 0.5;
    const count_ = int(4, 40);
    const untilMs = toUtc(start, zone) + int(30, 300) * DAY + 23 * HOUR;
    const interval = rand() < 0.15 ? 2 : 1;
    const exdate = rand() < 0.3;
    const override = rand() < 0.2;
    const r1 = rand();
    const r2 = rand();
    const shift = pick([1, 2, -1]) * DAY + pick([0, 2, -3]) * HOUR;
    const probeSlot = recurring ? (recurringProbe < 5 && i % 1000 === 0 ? recurringProbe : -1) : i % 1000 === 1 && plainProbe < PROBES.length ? plainProbe : -1;
    if (probeSlot >= 0) {
      const p = PROBES[probeSlot]!;
      if (recurring) recurringProbe++;
      else plainProbe++;
      events.push(build(i, p.spec, p.name));
      continue;
    }
    const spec: Spec = { start, minutes, zone, useDuration, summary, description, location };
    if (recurring) {
      spec.rule = byCount ? { count: count_, interval } : { untilMs, interval };
      const n = weeklyStarts(spec).length;
      if (exdate && n > 2) spec.exdates = [...new Set([Math.floor(r1 * n), Math.floor(r2 * n)])].filter((k) => k > 0);
      if (override && n > 2) {
        const k = 1 + Math.floor(r2 * (n - 1));
        if (!spec.exdates?.includes(k)) spec.override = { index: k, start: localOf(wall(weeklyStarts(spec)[k]!) + shift), minutes };
      }
    }
    events.push(build(i, spec));
  }
  return events;
}

/** Whether an event has an instance overlapping [start, end) (RFC 4791 §9.9: start < end' and end > start'). */
export function overlaps(e: CalEvent, start: number, end: number): boolean {
  return e.instances.some(([a, b]) => a < end && b > start);
}

/** The event again with a changed SUMMARY (for the sync-collection runs). */
export function edited(e: CalEvent, n: number): string {
  return e.ics.replace(/^SUMMARY:(.*)$/m, `SUMMARY:$1 (edit ${n})`);
}
