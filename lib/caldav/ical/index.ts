/**
 * The pure CalDAV building blocks (RFC 4791): no HTTP, no storage. The REPORT and PUT handlers in
 * lib/caldav compose these and map the two error types to responses.
 */
export { CalendarPreconditionError, CalendarQueryError, type CalendarPrecondition, type CalendarQueryCondition } from './errors.js';
export { parseCalendarObject, CALENDAR_COMPONENTS, type CalendarObject, type CalendarComponentType } from './object.js';
export { validateCalendarObject, type ValidationLimits, type ValidCalendarObject } from './validate.js';
export {
  expandInstances,
  instances,
  componentInstance,
  DEFAULT_MAX_INSTANCES,
  type Instance,
  type InstanceKind,
  type Expansion,
  type ExpansionOptions,
} from './recurrence.js';
export {
  objectOverlaps,
  instancesInRange,
  instanceOverlaps,
  alarmTriggers,
  timeRange,
  ALL_TIME,
  type TimeRange,
  type TimeRangeOptions,
} from './timerange.js';
export {
  parseFilter,
  parseQueryFilter,
  parseTimeRange,
  matches,
  type CalendarFilter,
  type CompFilter,
  type PropFilter,
  type ParamFilter,
  type TextMatch,
  type MatchOptions,
} from './filter.js';
export { COLLATIONS, DEFAULT_COLLATION, collationContains, type Collation } from './collation.js';
export {
  parseCalendarDataRequest,
  shapeCalendarData,
  selectComponents,
  expand,
  limitRecurrenceSet,
  limitFreebusySet,
  type CalendarDataRequest,
  type ComponentSelection,
  type PropSelection,
  type ShapeOptions,
} from './expand.js';
export { busyPeriods, freeBusyReport, freeBusyCalendar, mergeBusyPeriods, formatPeriod, type BusyPeriod, type BusyType, type FreeBusyOptions } from './freebusy.js';
export { parseTimezone, systemTimezone, parseUtcDateTime, formatUtcDateTime } from './tz.js';
