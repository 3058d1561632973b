/**
 * What a calendar-query filter certainly requires of an object's bounds (bounds.ts), so a query can
 * skip objects without parsing them. Only necessary conditions are checked; an object that passes is
 * still evaluated in full by `matches`, so a prefilter can make a query cheaper, never different.
 *
 * Under the VCALENDAR comp-filter, every comp-filter must match (§9.7.1). One that names a calendar
 * component (VEVENT, VTODO, VJOURNAL, VFREEBUSY) and is not is-not-defined requires that component,
 * i.e. the object's type (a resource holds one type); with a time-range, some instance overlapping it;
 * with a VALARM comp-filter inside holding a time-range, some alarm trigger in that range.
 */
import type { CalendarFilter } from './filter.js';
import { CALENDAR_COMPONENTS } from './object.js';
import { BOUNDS_MAX_INSTANCES, exactVerdict, mayOverlap, type ObjectBounds } from './bounds.js';

/** A test that is false only for objects that cannot match; null when there is nothing to test. */
export function boundsPrefilter(filter: CalendarFilter): ((b: ObjectBounds) => boolean) | null {
  if (filter.isNotDefined) return null; // never matches; evaluation says so without help
  const tests: Array<(b: ObjectBounds) => boolean> = [];
  for (const cf of filter.compFilters) {
    if (cf.isNotDefined || !(CALENDAR_COMPONENTS as readonly string[]).includes(cf.name)) continue;
    tests.push((b) => b.type === cf.name);
    const range = cf.timeRange;
    if (range) tests.push((b) => mayOverlap(b.span, range));
    for (const alarm of cf.compFilters) {
      const r = alarm.timeRange;
      if (alarm.name === 'VALARM' && r && !alarm.isNotDefined) tests.push((b) => mayOverlap(b.alarms, r));
    }
  }
  if (!tests.length) return null;
  return (b) => tests.every((t) => t(b));
}

/**
 * A time-range every match's bounds must meet (that of a comp-filter naming a calendar component, as
 * `boundsPrefilter` requires), or null when the filter requires none: an interval index can then
 * pick the candidates (they are still tested in full).
 */
export function requiredRange(filter: CalendarFilter): { start: number; end: number } | null {
  if (filter.isNotDefined) return null;
  for (const cf of filter.compFilters) {
    if (cf.isNotDefined || !(CALENDAR_COMPONENTS as readonly string[]).includes(cf.name) || !cf.timeRange) continue;
    return { start: cf.timeRange.start, end: cf.timeRange.end };
  }
  return null;
}

/**
 * For the filter clients send most (VCALENDAR › VEVENT with a time-range and nothing else), the
 * verdict from an object's bounds where they tell it (bounds.ts `exactVerdict`: one non-floating
 * instance; or a series whose gaps are shorter than the range), so such an object is judged without
 * being parsed; undefined for other objects, and null
 * for any other filter. A request's CALDAV:timezone changes nothing here: it only places floating
 * times and DATEs, which exact bounds have none of.
 */
export function exactFilter(filter: CalendarFilter, maxInstances = Infinity): ((b: ObjectBounds) => boolean | undefined) | null {
  if (filter.isNotDefined || filter.timeRange || filter.propFilters.length || filter.compFilters.length !== 1) return null;
  const cf = filter.compFilters[0]!;
  if (cf.name !== 'VEVENT' || cf.isNotDefined || !cf.timeRange || cf.propFilters.length || cf.compFilters.length) return null;
  const range = cf.timeRange;
  // A series' gaps were found over up to BOUNDS_MAX_INSTANCES instances; a query that expands fewer
  // could judge it otherwise, so there only single events are decided.
  if (maxInstances < BOUNDS_MAX_INSTANCES) return (b) => (b.exact ? exactVerdict(b, range) : undefined);
  return (b) => exactVerdict(b, range);
}
