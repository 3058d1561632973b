/**
 * Runs in a thread of the calendar pool (bounds-pool.ts): one stored object's text parsed and its
 * bounds for the object index computed (ical/bounds.ts), under the steps the request has left. Plain
 * data both ways: text in; bounds (numbers, ±Infinity survive the structured clone), or why there are
 * none, and the steps taken out — the parse's and the bounds' apart, since the caller charges the parse
 * only when the event loop does not parse the object again. The parsed object stays here and is dropped.
 */
import { parseCalendarObject } from './ical/object.js';
import { objectBounds, type ObjectBounds } from './ical/bounds.js';
import { StepBudget, StepBudgetExceeded, withBudget } from './ical/budget.js';

export interface BoundsTask {
  text: string;
  /** Steps this task may take: its share of what the request has left (objects.ts). */
  maxSteps: number;
}

export type BoundsResult =
  | { kind: 'bounds'; bounds: ObjectBounds; parseSteps: number; boundsSteps: number }
  /** Not a calendar object that parses: the caller parses it itself, to log or skip it as before. */
  | { kind: 'unparsed'; steps: number }
  /** More than `maxSteps`: the caller does it on the event loop, under the request's own budget. */
  | { kind: 'budget'; steps: number };

export default function bounds(task: BoundsTask): BoundsResult {
  const budget = new StepBudget(task.maxSteps);
  try {
    const object = withBudget(budget, () => parseCalendarObject(task.text));
    const parseSteps = budget.spent;
    const b = withBudget(budget, () => objectBounds(object));
    return { kind: 'bounds', bounds: b, parseSteps, boundsSteps: budget.spent - parseSteps };
  } catch (err) {
    return { kind: err instanceof StepBudgetExceeded ? 'budget' : 'unparsed', steps: budget.spent };
  }
}
