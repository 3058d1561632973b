/**
 * Skipping ahead in an unbounded rule: the occurrences before the window asked for need not be
 * walked, so FREQ=SECONDLY since 2001 costs the same as since yesterday.
 */
import type ICAL from 'ical.js';
import { addDays, epochMs, type IcalTime, type IcalTimezone } from './tz.js';

const PERIOD_SECONDS: Partial<Record<string, number>> = { SECONDLY: 1, MINUTELY: 60, HOURLY: 3600, DAILY: 86_400, WEEKLY: 604_800 };

/**
 * A later DTSTART with the same recurrence set from there on: DTSTART moved by whole periods of the
 * rule (INTERVAL × FREQ) keeps every default the rule takes from DTSTART (time of day, weekday, day
 * of month) and the alignment of its periods. Not with COUNT (counting starts at DTSTART) or
 * BYSETPOS, nor for monthly/yearly rules starting after the 28th (the day would not exist).
 * Lands at or before `from`: the wall-clock move is checked against the instant (DST).
 */
export function fastForward(rule: ICAL.Recur, dtstart: IcalTime, from: number | undefined, floating: IcalTimezone | null): IcalTime {
  if (from === undefined || rule.count || rule.parts.BYSETPOS?.length) return dtstart;
  const interval = Math.max(1, rule.interval || 1);
  const gap = from - epochMs(dtstart, floating);
  const seconds = PERIOD_SECONDS[rule.freq];
  if (seconds !== undefined) {
    const periodMs = seconds * interval * 1000;
    const move = (periods: number) => {
      const units = periods * interval;
      const t = dtstart.clone();
      if (rule.freq === 'SECONDLY') t.adjust(0, 0, 0, units);
      else if (rule.freq === 'MINUTELY') t.adjust(0, 0, units, 0);
      else if (rule.freq === 'HOURLY') t.adjust(0, units, 0, 0);
      else return addDays(t, units * (rule.freq === 'WEEKLY' ? 7 : 1));
      return t;
    };
    let periods = Math.floor(gap / periodMs);
    if (periods <= 1) return dtstart;
    let t = move(periods);
    for (let over = epochMs(t, floating) - from; over > 0 && periods > 0; over = epochMs(t, floating) - from) {
      periods = Math.max(0, periods - Math.max(1, Math.ceil(over / periodMs)));
      t = move(periods);
    }
    return t;
  }
  if ((rule.freq !== 'MONTHLY' && rule.freq !== 'YEARLY') || dtstart.day > 28) return dtstart;
  const months = interval * (rule.freq === 'YEARLY' ? 12 : 1);
  const move = (periods: number) => {
    const total = dtstart.year * 12 + (dtstart.month - 1) + periods * months;
    const t = dtstart.clone();
    t.year = Math.floor(total / 12);
    t.month = (total % 12) + 1;
    return t;
  };
  // start from a guess that is surely early (31-day months), then walk up to the last period start before `from`
  let periods = Math.floor(gap / (months * 31 * 86_400_000));
  if (periods <= 1) return dtstart;
  while (epochMs(move(periods + 1), floating) <= from) periods++;
  return move(periods);
}
