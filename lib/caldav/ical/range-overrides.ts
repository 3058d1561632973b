/**
 * RANGE=THISANDFUTURE overrides (RFC 5545 §3.8.4.4): an override whose RECURRENCE-ID carries it
 * describes, and moves, every instance after it too, until the next such override.
 */
import { epochMs, isFloating, type IcalComponent, type IcalTime } from './tz.js';

export interface RangeOverride {
  readonly component: IcalComponent;
  readonly key: number; // epoch ms of its RECURRENCE-ID
  readonly recurrenceId: IcalTime;
  readonly start: IcalTime;
}

export function rangeOverrides(overrides: readonly IcalComponent[]): RangeOverride[] {
  const out: RangeOverride[] = [];
  for (const o of overrides) {
    const prop = o.getFirstProperty('recurrence-id')!;
    if (String(prop.getFirstParameter('range') ?? '').toUpperCase() !== 'THISANDFUTURE') continue;
    const rid = prop.getFirstValue() as IcalTime;
    out.push({ component: o, key: epochMs(rid), recurrenceId: rid, start: (o.getFirstPropertyValue('dtstart') as IcalTime | null) ?? rid });
  }
  return out.sort((a, b) => a.key - b.key);
}

/** The THISANDFUTURE override in force at an occurrence: the last one before it. */
export function rangeBefore(ranges: RangeOverride[], at: number): RangeOverride | undefined {
  let found: RangeOverride | undefined;
  for (const r of ranges) if (r.key < at) found = r;
  return found;
}

export function maxRangeShift(ranges: RangeOverride[]): number {
  return ranges.reduce((m, r) => Math.max(m, Math.abs(epochMs(r.start) - r.key)), 0);
}

/**
 * Where an occurrence after a THISANDFUTURE override starts: moved by the override's own shift in
 * wall-clock time (so "from now on at 11:00 instead of 10:00" stays 11:00 across a DST change).
 */
export function rangeStart(range: RangeOverride, occ: IcalTime): IcalTime {
  const ridLocal = range.recurrenceId.isDate || isFloating(range.start) ? range.recurrenceId : range.recurrenceId.convertToZone(range.start.zone);
  const delta = range.start.subtractDate(ridLocal);
  const base = occ.isDate || isFloating(range.start) ? occ.clone() : occ.convertToZone(range.start.zone);
  const start = base.clone();
  start.addDuration(delta);
  return start;
}
