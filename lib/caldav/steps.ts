/**
 * The request's side of the step budget (ical/budget.ts): one budget per request, sized by
 * `limits.maxCalendarSteps` (what a spent budget answers: errors.ts); and the log line for a stored
 * object that is skipped because it cannot be evaluated.
 */
import type { DavRequest } from '../dav/context.js';
import type { Logger } from '../../backends/util/log.js';
import { StepBudget, withBudget } from './ical/budget.js';

export { StepBudgetExceeded } from './ical/budget.js';

// Per-request scratch, not a mount's state: keyed by the request itself and gone with it (weakly held).
const budgets = new WeakMap<DavRequest, StepBudget>();

export function requestBudget(req: DavRequest): StepBudget {
  let budget = budgets.get(req);
  if (!budget) budgets.set(req, (budget = new StepBudget(req.dav.options.limits.maxCalendarSteps)));
  return budget;
}

/** Runs a synchronous iCalendar computation under the request's budget. */
export function counted<T>(req: DavRequest, compute: () => T): T {
  return withBudget(requestBudget(req), compute);
}

/** Logs a stored object that a REPORT leaves out because it cannot be evaluated. */
export function logSkipped(req: DavRequest, path: string, err: unknown): void {
  const logger = req.ctx.state.logger as Logger | undefined;
  logger?.warn('calendar object skipped', { path, reason: err instanceof Error ? err.message : String(err) });
}

/** The pause REPORT loops over many objects take every few ms of work (lib/dav/time-slicer.ts). */
export { SLICE_MS, timeSlicer } from '../dav/time-slicer.js';
