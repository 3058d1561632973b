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

/** Longest stretch of synchronous iCalendar work a REPORT does before letting other requests run. */
export const SLICE_MS = 10;

/**
 * A pause for loops over many objects: resolves at once until `sliceMs` of time has passed since the
 * last pause, then waits for the event loop's next turn (setImmediate, after pending I/O), so one
 * calendar-query or free-busy over a large calendar never holds the event loop for long. By time, not
 * by object count: objects differ in cost by orders of magnitude, and an `await` on a cached object
 * is only a microtask that lets nothing else run.
 */
export function timeSlicer(sliceMs = SLICE_MS): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < sliceMs) return;
    await new Promise((resolve) => setImmediate(resolve));
    since = performance.now();
  };
}
