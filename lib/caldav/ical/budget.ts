/**
 * One step budget per request for every iCalendar computation: parsing, validation, recurrence and
 * time-zone expansion, bounds, filters, free-busy. Each loop that can grow with hostile input spends
 * steps here; when a request has spent its budget, the next step throws StepBudgetExceeded, and the
 * caller turns that into a clear answer (403 for a PUT; elsewhere CalDAV's error mapper,
 * lib/caldav/errors.ts, answers 507) instead of a hang.
 *
 * The budget is ambient rather than passed: these computations are synchronous (ical.js calls back
 * into gitdav from deep inside), so the caller sets the request's budget around each synchronous
 * call with `withBudget` and every loop below reaches it through `spend`. JavaScript runs one
 * synchronous call at a time, so two requests never see each other's budget. Outside `withBudget`
 * (unit tests, tools) nothing is counted.
 *
 * A step is a small, bounded unit of work: one content line parsed, one recurrence candidate tried,
 * one instance generated, one filter element applied to one component, one time-zone change expanded.
 */

/**
 * Default of `limits.maxCalendarSteps` (the same number is in lib/dav/context.ts). Measured with
 * bench/ical-steps.ts (CPU time, 2-core VM): the costliest hostile calendars cost 1-5.5 µs a step,
 * so 1,000,000 steps is at most ~5 s of CPU; the bench's realistic 10,000 events need at most ~350,000
 * (a calendar-query on a cold cache: parse 303,000 + match 46,000; free-busy over 2 years 139,000).
 */
export const DEFAULT_MAX_CALENDAR_STEPS = 1_000_000;

export class StepBudgetExceeded extends Error {
  override name = 'StepBudgetExceeded';

  constructor(readonly limit: number) {
    super(`the calendar computation took more than ${limit} steps (limits.maxCalendarSteps)`);
  }
}

export class StepBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  get spent(): number {
    return this.used;
  }

  spend(steps: number): void {
    this.used += steps;
    if (this.used > this.limit) throw new StepBudgetExceeded(this.limit);
  }
}

// Scratch for one synchronous call (see the module comment), not state: null again when it returns.
let current: StepBudget | null = null;

/** Runs a synchronous computation under `budget` (nested calls keep the outer budget's count). */
export function withBudget<T>(budget: StepBudget, compute: () => T): T {
  const outer = current;
  current = budget;
  try {
    return compute();
  } finally {
    current = outer;
  }
}

/** Counts `steps` against the running request's budget; throws StepBudgetExceeded when it is spent. */
export function spend(steps = 1): void {
  if (current !== null) current.spend(steps);
}
