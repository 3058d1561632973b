/**
 * Runs in a thread of the calendar pool (bounds-pool.ts): one stored object's text parsed and its
 * bounds for the object index computed (ical/bounds.ts), under the steps the request has left. Plain
 * data both ways: text in; bounds (numbers, ±Infinity survive the structured clone), or why there are
 * none, and the steps taken out. The parsed object itself stays here and is dropped.
 */
import { parseCalendarObject } from './ical/object.js';
import { objectBounds, type ObjectBounds } from './ical/bounds.js';
import { StepBudget, StepBudgetExceeded, withBudget } from './ical/budget.js';

export interface BoundsTask {
  text: string;
  /** Steps the request may still take (its budget's rest). */
  maxSteps: number;
}

export type BoundsResult =
  | { kind: 'bounds'; bounds: ObjectBounds; steps: number }
  /** Not a calendar object that parses: the caller parses it itself, to log or skip it as before. */
  | { kind: 'unparsed'; steps: number }
  | { kind: 'budget'; steps: number };

export default function bounds(task: BoundsTask): BoundsResult {
  const budget = new StepBudget(task.maxSteps);
  try {
    const b = withBudget(budget, () => objectBounds(parseCalendarObject(task.text)));
    return { kind: 'bounds', bounds: b, steps: budget.spent };
  } catch (err) {
    return { kind: err instanceof StepBudgetExceeded ? 'budget' : 'unparsed', steps: budget.spent };
  }
}
