/**
 * Reading a calendar's objects: each parsed once per ETag (the cache never goes stale), skipped
 * unparsed when the persisted index shows it cannot match (object-index.ts), and whether a
 * collection is a calendar (memoised per request, since every member of a listing asks).
 */
import type { Entry } from '../../backends/backend.js';
import type { DavRequest } from '../dav/context.js';
import { Resource } from '../dav/properties/registry.js';
import { hasType } from '../dav/resource-types.js';
import { ObjectCache } from './object-cache.js';
import { parseCalendarObject, type CalendarObject } from './ical/object.js';
import { objectBounds, type ObjectBounds } from './ical/bounds.js';
import { objectIndexOf } from './object-index.js';
import { CALENDAR } from './context.js';
import { counted, logSkipped, StepBudgetExceeded } from './steps.js';

/** null: the stored bytes are not a calendar object (put there over plain WebDAV): skipped by queries. */
export const objects = new ObjectCache<CalendarObject | null>();

/**
 * The object parsed under the request's step budget. A stored object that does not parse (stored
 * before a check existed, or written to the folder directly) is null, and logged once per ETag.
 */
export function parsedObject(req: DavRequest, entry: Entry): Promise<CalendarObject | null> {
  return objects.parsed(req, entry, (text) => {
    try {
      return counted(req, () => parseCalendarObject(text));
    } catch (err) {
      if (err instanceof StepBudgetExceeded) throw err; // the request's limit, not the object's fault
      if (text.trimStart().startsWith('BEGIN:VCALENDAR')) logSkipped(req, entry.path, err);
      return null;
    }
  });
}

/**
 * The object, unless the persisted index already knows that its bounds fail `test` (then null, and
 * nothing is read). Objects parsed here get their bounds recorded for the next query.
 */
export async function candidateObject(req: DavRequest, entry: Entry, test: ((b: ObjectBounds) => boolean) | null): Promise<CalendarObject | null> {
  const known = await indexed(req, entry);
  if (known && test && !test(known)) return null;
  return known ? parsedObject(req, entry) : parsedAndIndexed(req, entry);
}

/**
 * An object's UID: from the persisted index where its ETag is known (nothing read: a restarted
 * server checks UIDs without parsing the calendar), else parsed, and recorded for next time.
 */
export async function uidOf(req: DavRequest, entry: Entry): Promise<string | undefined> {
  const known = await indexed(req, entry);
  return (known ? known.uid : (await parsedAndIndexed(req, entry))?.uid) ?? undefined;
}

/** The persisted summary of the object's content, if any. */
async function indexed(req: DavRequest, entry: Entry): Promise<ObjectBounds | undefined> {
  const index = objectIndexOf(req.backend);
  await index.ready();
  return index.get(entry.etag);
}

/** The object parsed, its summary recorded for the next query or restart. */
async function parsedAndIndexed(req: DavRequest, entry: Entry): Promise<CalendarObject | null> {
  const object = await parsedObject(req, entry);
  if (object) objectIndexOf(req.backend).set(entry.etag, counted(req, () => objectBounds(object)));
  return object;
}

export function isCalendarPath(req: DavRequest, path: string): Promise<boolean> {
  return req.memo(`calendar?${path}`, async () => {
    const entry = await req.backend.stat(path);
    return !!entry && entry.kind === 'collection' && hasType(new Resource(req, entry), CALENDAR);
  });
}

/** The calendar's object members (files), one level. */
export async function* calendarObjects(req: DavRequest, path: string): AsyncGenerator<Entry> {
  for await (const e of req.backend.list(path)) if (e.kind === 'file') yield e;
}
