/**
 * ical.js's RecurIterator with every advance counted against the request's step budget (budget.ts)
 * and against a per-iterator cap.
 *
 * Counting only the candidates `next()` checks (check_contracting_rules) misses the loops that cost
 * the most: a YEARLY rule that never matches (FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30) makes the
 * iterator's init() expand every year up to 20000, and a BYSETPOS rule runs month and year loops that
 * never reach the contracting check; a large INTERVAL makes one increment walk millions of days. So
 * this subclass also counts each year expanded and each month stepped over, wherever ical.js does
 * it — including in init(), which runs inside the constructor (hence a subclass rather than wrapping
 * the methods of an instance that already exists). Only the iterators gitdav creates are counted:
 * ical.js's prototype is left alone.
 *
 * The method names are ical.js internals (declared in its .d.ts); the unit test "counts the years a
 * rule that never matches expands" fails if an upgrade renames them.
 */
import ICAL from 'ical.js';
import { spend } from './budget.js';
import type { IcalTime } from './tz.js';

/** Thrown when one iterator has taken more steps than its cap (not the request's budget). */
export class IteratorCapReached extends Error {
  override name = 'IteratorCapReached';
  constructor(readonly cap: number) {
    super(`the recurrence rule took more than ${cap} steps`);
  }
}

/**
 * Steps one yearly expansion costs: ical.js walks the year's days for each BYxxx value, so a year is
 * worth a few candidates (measured: ~8 µs per year for BYMONTH+BYMONTHDAY+BYDAY, ~1 µs per candidate).
 */
const YEAR_STEPS = 8;

/** Days walked one at a time that cost about one step. */
const DAYS_PER_STEP = 1_000;

// init() runs inside the constructor, before a subclass can set its own fields: the cap of the
// iterator being built is handed over here (JavaScript runs one constructor at a time): scratch for
// one constructor call, not state.
let capForNext = Infinity;

class CountedRecurIterator extends ICAL.RecurIterator {
  declare private stepCap: number;
  declare private stepsUsed: number;

  /** Steps taken so far by this iterator (init included). */
  get steps(): number {
    return this.stepsUsed ?? 0;
  }

  /** Sets this iterator's cap (the constructor's init() used the one handed over in capForNext). */
  limit(cap: number): void {
    this.stepCap = cap;
    this.stepsUsed ??= 0;
  }

  private tick(steps: number): void {
    if (this.stepCap === undefined) this.limit(capForNext);
    spend(steps);
    this.stepsUsed += steps;
    if (this.stepsUsed > this.stepCap) throw new IteratorCapReached(this.stepCap);
  }

  // one candidate tried by next()'s loop
  override check_contracting_rules(): boolean {
    this.tick(1);
    return super.check_contracting_rules();
  }

  // one year expanded: init()'s search for a year with an instance, next_year()
  override expand_year_days(aYear: unknown): number {
    this.tick(YEAR_STEPS);
    return super.expand_year_days(aYear);
  }

  // INTERVAL days, hours, minutes or seconds: ical.js walks the days one at a time (increment_monthday,
  // or Time's normalisation when an hour or minute count is carried), ~5-10 ns a day, so
  // FREQ=HOURLY;INTERVAL=999999999 walks 41 million days per advance. Counted before it walks.
  private walk(days: number): void {
    this.tick(1 + Math.floor(days / DAYS_PER_STEP));
  }

  override increment_monthday(inc: number): void {
    this.walk(inc);
    super.increment_monthday(inc);
  }

  override increment_hour(inc: number): void {
    this.walk(inc / 24);
    super.increment_hour(inc);
  }

  override increment_minute(inc: number): void {
    this.walk(inc / 1_440);
    super.increment_minute(inc);
  }

  override increment_second(inc: number): void {
    this.walk(inc / 86_400);
    super.increment_second(inc);
  }

  // one month stepped over: next_month(), BYDAY+BYMONTHDAY search, increment_monthday(INTERVAL days)
  override increment_month(): void {
    this.tick(1);
    super.increment_month();
  }
}

export type CountedIterator = ICAL.RecurIterator & { readonly steps: number };

/** An iterator over `rule` from `dtstart` whose work is counted; more than `cap` steps throw IteratorCapReached. */
export function countedIterator(rule: ICAL.Recur, dtstart: IcalTime, cap = Infinity): CountedIterator {
  capForNext = cap;
  try {
    const iterator = new CountedRecurIterator({ rule, dtstart });
    iterator.limit(cap);
    return iterator;
  } finally {
    capForNext = Infinity;
  }
}
