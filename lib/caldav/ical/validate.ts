/**
 * The checks a PUT (or COPY/MOVE) into a calendar collection must pass (RFC 4791 §5.3.2.1), in the
 * order that keeps the cheap ones first: size before parsing, structure, then policy.
 * no-uid-conflict needs the collection's other objects, so the caller checks it with the UID
 * returned here.
 */
import ICAL from 'ical.js';
import { CalendarPreconditionError } from './errors.js';
import { parseCalendarObject, type CalendarComponentType, type CalendarObject } from './object.js';
import { expandInstances, firstInstanceWithin, instances, isRecurring } from './recurrence.js';
import { StepBudgetExceeded } from './budget.js';
import { epochMs, formatUtcDateTime, type IcalComponent } from './tz.js';

export interface ValidationLimits {
  /** CALDAV:supported-calendar-component-set of the collection, upper case. */
  supportedComponents: Iterable<string>;
  /** CALDAV:max-resource-size in octets. */
  maxResourceSize: number;
  /** CALDAV:min-date-time / max-date-time of the collection. */
  minDateTime?: Date;
  maxDateTime?: Date;
  /** Instances to generate when checking max-date-time against a COUNT rule. */
  maxInstances?: number;
}

export interface ValidCalendarObject {
  readonly uid: string;
  readonly componentType: CalendarComponentType;
  /** The parsed object, for the caller to cache by the ETag of the stored bytes. */
  readonly object: CalendarObject;
}

const fail = (p: ConstructorParameters<typeof CalendarPreconditionError>[0], message: string) => new CalendarPreconditionError(p, message);

export function validateCalendarObject(text: string, limits: ValidationLimits): ValidCalendarObject {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > limits.maxResourceSize) throw fail('max-resource-size', `${size} octets exceed the limit of ${limits.maxResourceSize}`);

  const object = parseCalendarObject(text);

  // RFC 4791 §4.1: no METHOD in a stored object (it belongs to iTIP messages).
  if (object.vcalendar.hasProperty('method')) throw fail('valid-calendar-object-resource', 'calendar object resources must not have a METHOD property');
  const supported = new Set([...limits.supportedComponents].map((c) => c.toUpperCase()));
  if (!supported.has(object.componentType)) {
    throw fail('supported-calendar-component', `${object.componentType} is not in this calendar's supported-calendar-component-set`);
  }
  if (object.uid === null) throw fail('valid-calendar-object-resource', `${object.componentType} without UID`);
  for (const c of components(object)) checkComponent(c);
  checkExpandable(object);
  checkDateLimits(object, limits);
  return { uid: object.uid, componentType: object.componentType, object };
}

function components(object: CalendarObject): IcalComponent[] {
  return object.master ? [object.master, ...object.overrides] : [...object.overrides];
}

/** RFC 5545 §3.6.1/3.6.2 rules that, broken, make time-range answers meaningless. */
function checkComponent(c: IcalComponent): void {
  const type = c.name.toUpperCase();
  const has = (name: string) => c.hasProperty(name);
  if (type === 'VEVENT' && !has('dtstart')) throw fail('valid-calendar-data', 'VEVENT without DTSTART');
  if ((has('rrule') || has('rdate')) && !has('dtstart')) throw fail('valid-calendar-data', `${type} recurs without DTSTART`);
  if (has('duration') && (has('dtend') || has('due')) && type !== 'VFREEBUSY') {
    throw fail('valid-calendar-data', `${type} has both DURATION and ${has('dtend') ? 'DTEND' : 'DUE'}`);
  }
  for (const name of ['dtstart', 'dtend', 'due', 'recurrence-id']) {
    const v = c.getFirstPropertyValue(name);
    if (v !== null && !(v instanceof ICAL.Time)) throw fail('valid-calendar-data', `${name.toUpperCase()} is not a date or date-time`);
  }
}

/**
 * Iterator steps a rule may take to reach its first instance at PUT. A yearly leap-day Monday
 * (FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO) recurs every 28 years, about 250 steps; a daily
 * leap day (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29) walks every day to the next one, ~2,200 steps from
 * a March; finer rules restricted to a month day walk more. 50,000 steps is a fraction of a second.
 */
const FIRST_INSTANCE_STEPS = 50_000;

/**
 * The recurrence set's first instances and each time zone's changes can be computed: a rule or zone
 * that ical.js cannot evaluate would otherwise be stored and fail every later REPORT.
 */
function checkExpandable(object: CalendarObject): void {
  try {
    const { master } = object;
    const dtstart = master?.getFirstPropertyValue('dtstart') as ICAL.Time | null | undefined;
    for (const prop of dtstart ? master!.getAllProperties('rrule') : []) {
      if (firstInstanceWithin(prop.getFirstValue() as ICAL.Recur, dtstart!, FIRST_INSTANCE_STEPS) === 'cap') {
        throw fail('valid-calendar-data', `RRULE:${String(prop.getFirstValue())}: the rule yields no instance (none within ${FIRST_INSTANCE_STEPS} steps)`);
      }
    }
    const stream = instances(object, { maxInstances: 10 });
    for (let step = stream.next(); !step.done; step = stream.next()) {
      if (step.value.start) epochMs(step.value.start);
    }
  } catch (err) {
    if (err instanceof StepBudgetExceeded || err instanceof CalendarPreconditionError) throw err;
    throw fail('valid-calendar-data', `the recurrence cannot be evaluated: ${(err as Error).message}`);
  }
}

/**
 * min-date-time / max-date-time (RFC 4791 §5.2.6–5.2.7) against every date of every component and
 * the last instance of a bounded rule. An unbounded rule has no last instance and is not refused.
 */
function checkDateLimits(object: CalendarObject, limits: ValidationLimits): void {
  const min = limits.minDateTime ? +limits.minDateTime : -Infinity;
  const max = limits.maxDateTime ? +limits.maxDateTime : Infinity;
  if (min === -Infinity && max === Infinity) return;
  const check = (ms: number, what: string) => {
    if (ms < min) throw fail('min-date-time', `${what} ${formatUtcDateTime(ms)} is before ${formatUtcDateTime(min)}`);
    if (ms > max) throw fail('max-date-time', `${what} ${formatUtcDateTime(ms)} is after ${formatUtcDateTime(max)}`);
  };
  for (const c of components(object)) {
    for (const name of ['dtstart', 'dtend', 'due', 'recurrence-id', 'rdate', 'exdate']) {
      for (const prop of c.getAllProperties(name)) {
        for (const v of prop.getValues()) {
          const t = v instanceof ICAL.Period ? v.start : v;
          if (t instanceof ICAL.Time) check(epochMs(t), name.toUpperCase());
        }
      }
    }
    for (const prop of c.getAllProperties('rrule')) {
      const rule = prop.getFirstValue() as ICAL.Recur;
      if (rule.until) check(epochMs(rule.until), 'RRULE UNTIL');
    }
  }
  const { master } = object;
  if (max !== Infinity && master && isRecurring(master) && master.getAllProperties('rrule').some((p) => (p.getFirstValue() as ICAL.Recur).count)) {
    const { instances } = expandInstances(object, { maxInstances: limits.maxInstances });
    const last = instances.filter((i) => i.start).at(-1);
    if (last?.start) check(epochMs(last.start), 'the last instance');
  }
}
