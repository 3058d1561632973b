/**
 * RFC 5545 §3.3.10 checks on the text of a recurrence rule (RRULE, EXRULE), made before ical.js reads
 * it: ical.js keeps the last of two FREQs, accepts a rule without FREQ and combinations the RFC
 * forbids, and then fails (or loops) when the rule is expanded — in the middle of a REPORT. Hand-written
 * because it must see the text itself (duplicates are gone once parsed) and say which rule is broken.
 * A few combinations the RFC allows but ical.js cannot expand are refused too, saying so.
 */

/** A recurrence rule as its parts (upper-case names; values as written). */
export interface RuleParts {
  readonly freq: string;
  readonly parts: ReadonlyMap<string, string>;
}

const FREQS = new Set(['SECONDLY', 'MINUTELY', 'HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY']);
const WEEKDAYS = new Set(['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA']);
/** Numeric list parts: [min, max, may be negative]. Zero is never allowed where a sign is. */
const NUMERIC: Record<string, [number, number, boolean]> = {
  BYSECOND: [0, 60, false],
  BYMINUTE: [0, 59, false],
  BYHOUR: [0, 23, false],
  BYMONTHDAY: [1, 31, true],
  BYYEARDAY: [1, 366, true],
  BYWEEKNO: [1, 53, true],
  BYMONTH: [1, 12, false],
  BYSETPOS: [1, 366, true],
};
const BY_PARTS = [...Object.keys(NUMERIC), 'BYDAY'];
/** RFC 7529 parts ical.js tolerates; X- parts are extensions and are ignored. */
const OTHER_PARTS = new Set(['FREQ', 'UNTIL', 'COUNT', 'INTERVAL', 'WKST', 'RSCALE', 'SKIP']);

/** The rule's parts, or a message saying what is wrong with it (RFC 5545 §3.3.10). */
export function checkRecurrenceRule(text: string): RuleParts | string {
  const parts = new Map<string, string>();
  for (const raw of text.split(';')) {
    if (raw === '' && parts.size > 0) continue; // a trailing ';' is common and harmless
    const eq = raw.indexOf('=');
    if (eq <= 0) return `"${raw}" is not NAME=VALUE`;
    const name = raw.slice(0, eq).trim().toUpperCase();
    const value = raw.slice(eq + 1).trim();
    if (!BY_PARTS.includes(name) && !OTHER_PARTS.has(name) && !name.startsWith('X-')) return `unknown rule part ${name}`;
    if (parts.has(name)) return `${name} occurs more than once`;
    if (value === '') return `${name} has no value`;
    parts.set(name, value);
  }
  const freq = parts.get('FREQ')?.toUpperCase();
  if (!freq) return 'FREQ is required';
  if (!FREQS.has(freq)) return `FREQ=${freq} is not a frequency`;
  if (parts.has('COUNT') && parts.has('UNTIL')) return 'COUNT and UNTIL exclude each other';
  for (const name of ['COUNT', 'INTERVAL']) {
    const v = parts.get(name);
    if (v !== undefined && (!/^\d{1,9}$/.test(v) || Number(v) < 1)) return `${name}=${v} is not a positive integer`;
  }
  const until = parts.get('UNTIL');
  if (until !== undefined && !validUntil(until)) return `UNTIL=${until} is not a date or a date-time`;
  const wkst = parts.get('WKST');
  if (wkst !== undefined && !WEEKDAYS.has(wkst.toUpperCase())) return `WKST=${wkst} is not a weekday`;
  for (const [name, [min, max, signed]] of Object.entries(NUMERIC)) {
    const v = parts.get(name);
    if (v === undefined) continue;
    for (const item of v.split(',')) {
      const m = /^([+-]?)(\d{1,3})$/.exec(item.trim());
      const n = m ? Number(m[2]) : NaN;
      if (!m || (m[1] && !signed) || n < min || n > max) return `${name}=${v}: ${item} is out of range`;
    }
  }
  const byday = parts.get('BYDAY');
  if (byday !== undefined) {
    for (const item of byday.split(',')) {
      const m = /^([+-]?\d{1,2})?([A-Za-z]{2})$/.exec(item.trim());
      if (!m || !WEEKDAYS.has(m[2]!.toUpperCase())) return `BYDAY=${byday}: ${item} is not a weekday`;
      if (m[1] === undefined) continue;
      const n = Math.abs(Number(m[1]));
      if (n < 1 || n > 53) return `BYDAY=${byday}: ${item} is out of range`;
      if (freq !== 'MONTHLY' && freq !== 'YEARLY') return `BYDAY with a number (${item}) needs FREQ=MONTHLY or YEARLY`;
      if (freq === 'YEARLY' && parts.has('BYWEEKNO')) return `BYDAY with a number (${item}) cannot be used with BYWEEKNO`;
      if (freq === 'MONTHLY' && n > 5) return `BYDAY=${item}: a month has at most 5 of a weekday (not supported)`;
    }
  }
  if (parts.has('BYYEARDAY') && (freq === 'DAILY' || freq === 'WEEKLY' || freq === 'MONTHLY')) return `BYYEARDAY cannot be used with FREQ=${freq}`;
  if (parts.has('BYMONTHDAY') && freq === 'WEEKLY') return 'BYMONTHDAY cannot be used with FREQ=WEEKLY';
  if (parts.has('BYWEEKNO') && freq !== 'YEARLY') return `BYWEEKNO needs FREQ=YEARLY, not ${freq}`;
  // Allowed by the RFC's grammar but refused by ical.js when it expands the rule: refused here, so
  // such an object is never stored to fail every later REPORT.
  if (parts.has('BYYEARDAY') && ['BYMONTH', 'BYWEEKNO', 'BYMONTHDAY'].some((p) => parts.has(p))) return 'BYYEARDAY with BYMONTH, BYWEEKNO or BYMONTHDAY is not supported';
  if (parts.has('BYWEEKNO') && parts.has('BYMONTHDAY')) return 'BYWEEKNO with BYMONTHDAY is not supported';
  if (parts.has('BYSETPOS') && !BY_PARTS.some((p) => p !== 'BYSETPOS' && parts.has(p))) return 'BYSETPOS needs another BYxxx rule part';
  return { freq, parts };
}

function validUntil(v: string): boolean {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z?)?$/.exec(v);
  if (!m) return false;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as [number, number, number, number, number];
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 60;
}

/** The values of a list part (empty when absent). */
export function listOf(rule: RuleParts, name: string): string[] {
  const v = rule.parts.get(name);
  return v === undefined ? [] : v.split(',').map((s) => s.trim());
}
