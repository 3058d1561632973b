/**
 * A look at the text of an iCalendar object before ical.js parses it, for what ical.js cannot be
 * trusted with:
 * - component nesting deeper than MAX_COMPONENT_DEPTH (ical.js parses any depth, but turning the
 *   result into components, and every walk of them, recurses: 100,000 levels overflow the stack);
 * - recurrence rules that break RFC 5545 §3.3.10 (rrule-check.ts);
 * - VTIMEZONEs whose expansion would not end. ical.js expands each observance's RRULE from its DTSTART
 *   on every zone conversion, one change at a time: `FREQ=SECONDLY` since 1601 is billions of
 *   changes, a hang and then an out-of-memory crash. Real zones change at most a few times a year, so
 *   observance rules must recur yearly or monthly, at one time of day, and the changes the zone can
 *   expand to (up to ZONE_HORIZON_YEAR, where tz.ts stops expanding) are bounded by MAX_ZONE_CHANGES.
 * Each content line costs one step of the request's budget (budget.ts).
 */
import { CalendarPreconditionError } from './errors.js';
import { checkRecurrenceRule, listOf, type RuleParts } from './rrule-check.js';
import { spend } from './budget.js';

/** Deepest component nesting accepted (real objects: VCALENDAR > VEVENT > VALARM, i.e. 3). */
export const MAX_COMPONENT_DEPTH = 16;
/** Most time-zone changes one VTIMEZONE may expand to (an Outlook zone since 1601: ~1,200). */
export const MAX_ZONE_CHANGES = 10_000;
/** Zones are expanded up to this year (tz.ts); later instants keep the last offset. */
export const ZONE_HORIZON_YEAR = 2200;

const invalid = (message: string) => new CalendarPreconditionError('valid-calendar-data', message);

interface Observance {
  kind: string;
  dtstartYear: number | null;
  rules: RuleParts[];
  rdates: number;
}

interface Zone {
  tzid: string;
  changes: number;
}

/** Throws CalendarPreconditionError (valid-calendar-data) for what the header comment lists. */
export function checkStructure(text: string): void {
  const stack: string[] = [];
  let zone: Zone | null = null;
  let observance: Observance | null = null;

  const handle = (line: string) => {
    const { name, value } = splitLine(line);
    switch (name) {
      case 'BEGIN': {
        const comp = value.trim().toUpperCase();
        stack.push(comp);
        if (stack.length > MAX_COMPONENT_DEPTH) throw invalid(`components nest deeper than ${MAX_COMPONENT_DEPTH} levels`);
        if (comp === 'VTIMEZONE') zone = { tzid: 'without TZID', changes: 0 };
        else if (zone && (comp === 'STANDARD' || comp === 'DAYLIGHT')) observance = { kind: comp, dtstartYear: null, rules: [], rdates: 0 };
        return;
      }
      case 'END': {
        const comp = stack.pop();
        if (comp === 'VTIMEZONE' && zone) {
          if (zone.changes > MAX_ZONE_CHANGES) throw invalid(`VTIMEZONE ${zone.tzid} would expand to more than ${MAX_ZONE_CHANGES} changes`);
          zone = null;
        } else if (observance && zone && (comp === 'STANDARD' || comp === 'DAYLIGHT')) {
          zone.changes += observanceChanges(observance);
          observance = null;
        }
        return;
      }
      case 'TZID':
        if (zone && stack.at(-1) === 'VTIMEZONE') zone.tzid = value.trim();
        return;
      case 'DTSTART':
        if (observance) observance.dtstartYear = /^\d{4}/.test(value) ? Number(value.slice(0, 4)) : null;
        return;
      case 'RDATE':
        if (observance) observance.rdates += value.split(',').length;
        return;
      case 'RRULE':
      case 'EXRULE': {
        const rule = checkRecurrenceRule(value.trim());
        const where = stack.at(-1) ?? 'VCALENDAR';
        if (typeof rule === 'string') throw invalid(`${name} of ${where}: ${rule}`);
        if (observance) observance.rules.push(checkObservanceRule(rule, observance.kind, zone?.tzid ?? 'without TZID'));
        return;
      }
      default:
    }
  };

  // Content lines, unfolded (RFC 5545 §3.1): a line starting with a space or tab continues the last.
  const lines = text.split(/\r?\n/);
  let logical: string | null = null;
  for (const line of lines) {
    spend();
    if (logical !== null && (line.startsWith(' ') || line.startsWith('\t'))) {
      logical += line.slice(1);
      continue;
    }
    if (logical) handle(logical);
    logical = line;
  }
  if (logical) handle(logical);
}

/** The property name (upper case) and the value after the first ':' outside a quoted parameter. */
function splitLine(line: string): { name: string; value: string } {
  let i = 0;
  while (i < line.length && line[i] !== ';' && line[i] !== ':') i++;
  const name = line.slice(0, i).toUpperCase();
  let quoted = false;
  for (; i < line.length; i++) {
    const c = line[i];
    if (c === '"') quoted = !quoted;
    else if (c === ':' && !quoted) return { name, value: line.slice(i + 1) };
  }
  return { name, value: '' };
}

function checkObservanceRule(rule: RuleParts, kind: string, tzid: string): RuleParts {
  if (rule.freq !== 'YEARLY' && rule.freq !== 'MONTHLY') {
    throw invalid(`VTIMEZONE ${tzid}: the ${kind} observance recurs ${rule.freq}; time-zone observances recur YEARLY or MONTHLY`);
  }
  for (const name of ['BYHOUR', 'BYMINUTE', 'BYSECOND']) {
    if (listOf(rule, name).length > 1) throw invalid(`VTIMEZONE ${tzid}: the ${kind} observance changes more than once a day (${name})`);
  }
  return rule;
}

/** An upper bound of the changes an observance expands to, up to ZONE_HORIZON_YEAR. */
function observanceChanges(o: Observance): number {
  let total = 1 + o.rdates; // its DTSTART and its RDATEs
  const from = o.dtstartYear ?? 0;
  for (const rule of o.rules) {
    const until = rule.parts.get('UNTIL');
    // ical.js expands five years beyond the year asked for (Timezone.EXTRA_COVERAGE)
    const to = Math.min(until ? Number(until.slice(0, 4)) : Infinity, ZONE_HORIZON_YEAR + 5) + 1;
    let n = perYear(rule) * Math.max(1, to - from);
    const count = rule.parts.get('COUNT');
    if (count) n = Math.min(n, Number(count));
    total += n;
  }
  return total;
}

/** An upper bound of a YEARLY or MONTHLY rule's occurrences in one year. */
function perYear(rule: RuleParts): number {
  const n = (name: string) => listOf(rule, name).length;
  // a weekday with an ordinal (2SU) is one day per period; without, up to 5 a month, 53 a year
  const weekdays = (perPeriod: number) => listOf(rule, 'BYDAY').reduce((s, d) => s + (/^[+-]?\d/.test(d) ? 1 : perPeriod), 0);
  let per: number;
  if (rule.freq === 'MONTHLY') {
    const days = n('BYMONTHDAY') ? (n('BYDAY') ? Math.min(n('BYMONTHDAY'), weekdays(5)) : n('BYMONTHDAY')) : n('BYDAY') ? weekdays(5) : 1;
    per = 12 * days;
  } else if (n('BYYEARDAY')) {
    per = n('BYYEARDAY');
  } else if (n('BYWEEKNO')) {
    per = n('BYWEEKNO') * Math.max(1, n('BYDAY'));
  } else if (n('BYMONTHDAY')) {
    per = (n('BYMONTH') || 12) * (n('BYDAY') ? Math.min(n('BYMONTHDAY'), weekdays(5)) : n('BYMONTHDAY'));
  } else if (n('BYDAY')) {
    per = n('BYMONTH') ? n('BYMONTH') * weekdays(5) : weekdays(53);
  } else {
    per = n('BYMONTH') || 1;
  }
  return per; // BYSETPOS is not counted: ical.js applies it per month even in a YEARLY rule
}
