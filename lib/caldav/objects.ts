/**
 * Reading a calendar's objects: each parsed once per ETag (the cache never goes stale), skipped
 * unparsed when the persisted index shows it cannot match (state/object-index.ts), and whether a
 * collection is a calendar (memoised per request, since every member of a listing asks). Parsed
 * objects and the index are the state of the tree that stores the object (state/states.ts).
 */
import type { Entry } from '../../backends/backend.js';
import type { DavRequest } from '../dav/context.js';
import { Resource } from '../dav/properties/registry.js';
import { hasType } from '../dav/resource-types.js';
import { escapeText } from '../dav/xml/write.js';
import { parseCalendarObject, type CalendarObject } from './ical/object.js';
import { objectBounds, type ObjectBounds } from './ical/bounds.js';
import type { CalDavStates } from './state/states.js';
import type { CalDavState } from './state/state.js';
import { CALENDAR } from './context.js';
import { counted, logSkipped, requestBudget, StepBudgetExceeded } from './steps.js';
import type { CalendarPool } from './bounds-pool.js';
import type { BoundsResult } from './bounds-worker.js';

const stateOf = (states: CalDavStates, req: DavRequest, entry: Entry): CalDavState => states.stateOf(req.backend, entry.path).state;

/** The object's text as stored (read whole: calendar objects are bounded by max-resource-size). */
export function objectText(states: CalDavStates, req: DavRequest, entry: Entry): Promise<string> {
  return stateOf(states, req, entry).objects.text(req.backend, entry);
}

/** The object's text escaped for XML character data, kept with the text by ETag (state/object-cache.ts). */
export function objectXmlText(states: CalDavStates, req: DavRequest, entry: Entry): Promise<string> {
  return stateOf(states, req, entry).objects.escaped(req.backend, entry, escapeText);
}

/**
 * The object parsed under the request's step budget. A stored object that does not parse (stored
 * before a check existed, or written to the folder directly) is null, and logged once per ETag.
 */
export function parsedObject(states: CalDavStates, req: DavRequest, entry: Entry): Promise<CalendarObject | null> {
  return parsedIn(stateOf(states, req, entry), req, entry);
}

/**
 * The object, unless the persisted index already knows that its bounds fail `test` (then null, and
 * nothing is read). Objects parsed here get their bounds recorded for the next query. With a `pool`,
 * an object the index does not know yet gets its bounds from a pool thread, and is parsed here only if
 * they can pass `test` (the first time-range query over a big calendar then parses most objects off
 * the event loop); whatever the pool cannot do (no thread, a thread that failed, an object that does
 * not parse, one over its task's share of the budget) is done here as without it. The request's budget
 * is charged as without a pool: each object's parse once (the thread's only when the object is not
 * parsed here again) and its bounds once. After `signal` (the query ended) nothing more is done: null.
 */
export async function candidateObject(states: CalDavStates, req: DavRequest, entry: Entry, test: ((b: ObjectBounds) => boolean) | null, pool?: CalendarPool, signal?: AbortSignal): Promise<CalendarObject | null> {
  if (signal?.aborted) return null;
  const state = stateOf(states, req, entry);
  const known = await indexed(state, entry);
  if (known && test && !test(known)) return null;
  if (known) return parsedIn(state, req, entry);
  // Without a test every object is parsed here anyway: a thread's parse would only be extra work.
  const r = test && pool ? await pooledBounds(state, req, entry, pool, signal) : undefined;
  if (signal?.aborted) return null;
  if (!r) return parsedAndIndexed(state, req, entry);
  const budget = requestBudget(req);
  budget.spend(r.boundsSteps);
  state.index.set(entry.etag, r.bounds);
  if (test!(r.bounds)) return parsedIn(state, req, entry); // that parse is charged there
  budget.spend(r.parseSteps); // the thread's parse stands in for the one the event loop skips
  return null;
}

/**
 * What the persisted index already says of the object: false where its bounds fail `test`, the
 * verdict where `exact` decides it from exact bounds (ical/prefilter.ts exactFilter), else undefined
 * (it must be read and evaluated). Nothing is read or parsed either way.
 */
export async function indexedVerdict(states: CalDavStates, req: DavRequest, entry: Entry, test: ((b: ObjectBounds) => boolean) | null, exact: ((b: ObjectBounds) => boolean | undefined) | null): Promise<boolean | undefined> {
  if (!test && !exact) return undefined;
  const known = await indexed(stateOf(states, req, entry), entry);
  if (!known) return undefined;
  if (test && !test(known)) return false;
  return exact ? exact(known) : undefined;
}

/** The tree an object is stored in, named by its state dir: the scope in which its ETag is unique. */
export const scopeOf = (states: CalDavStates, req: DavRequest, entry: Entry): string => stateOf(states, req, entry).stateDir;

/** Steps reserved by each request's pool tasks in flight (per-request scratch, gone with the request). */
const reserved = new WeakMap<DavRequest, number>();
/**
 * A task may take this fraction of what its request has left and no other task of it holds, so the
 * threads never spend more than the rest of the budget however many tasks are in flight.
 */
const TASK_SHARE = 8;

type PooledBounds = Extract<BoundsResult, { kind: 'bounds' }>;

/** The object's bounds from a pool thread, or undefined where the event loop must parse it. */
async function pooledBounds(state: CalDavState, req: DavRequest, entry: Entry, pool: CalendarPool, signal?: AbortSignal): Promise<PooledBounds | undefined> {
  const text = await state.objects.text(req.backend, entry);
  const budget = requestBudget(req);
  const held = reserved.get(req) ?? 0;
  const free = budget.limit - budget.spent - held;
  if (free <= 0) return undefined;
  const share = Math.ceil(free / TASK_SHARE);
  reserved.set(req, held + share);
  let r: Awaited<ReturnType<CalendarPool['bounds']>>;
  try {
    r = await pool.bounds({ text, maxSteps: share }, signal);
  } finally {
    reserved.set(req, (reserved.get(req) ?? share) - share);
  }
  // Anything else (no thread, no parse, over the share) the event loop redoes under the request's
  // budget, which charges it once: the thread's steps are not charged.
  return r.kind === 'bounds' ? r : undefined;
}

/**
 * An object's UID: from the persisted index where its ETag is known (nothing read: a restarted
 * server checks UIDs without parsing the calendar), else parsed, and recorded for next time.
 */
export async function uidOf(states: CalDavStates, req: DavRequest, entry: Entry): Promise<string | undefined> {
  const state = stateOf(states, req, entry);
  const known = await indexed(state, entry);
  return (known ? known.uid : (await parsedAndIndexed(state, req, entry, false))?.uid) ?? undefined;
}

/** `keep`: the parsed object stays in the object cache (a query's); else it is dropped after use (a UID's). */
function parsedIn(state: CalDavState, req: DavRequest, entry: Entry, keep = true): Promise<CalendarObject | null> {
  return state.objects[keep ? 'parsed' : 'parsedOnce'](req.backend, entry, (text) => {
    try {
      return counted(req, () => parseCalendarObject(text));
    } catch (err) {
      if (err instanceof StepBudgetExceeded) throw err; // the request's limit, not the object's fault
      if (text.trimStart().startsWith('BEGIN:VCALENDAR')) logSkipped(req, entry.path, err);
      return null;
    }
  });
}

/** The persisted summary of the object's content, if any. */
async function indexed(state: CalDavState, entry: Entry): Promise<ObjectBounds | undefined> {
  await state.index.ready();
  return state.index.get(entry.etag);
}

/** The object parsed, its summary recorded for the next query or restart. */
async function parsedAndIndexed(state: CalDavState, req: DavRequest, entry: Entry, keep = true): Promise<CalendarObject | null> {
  const object = await parsedIn(state, req, entry, keep);
  if (object) state.index.set(entry.etag, counted(req, () => objectBounds(object)));
  return object;
}

export function isCalendarPath(req: DavRequest, path: string): Promise<boolean> {
  return isCollectionOfType(req, path, CALENDAR);
}

/** Whether `path` is a collection of the stored type `type` (a calendar, an address book), memoised per request. */
export function isCollectionOfType(req: DavRequest, path: string, type: string): Promise<boolean> {
  return req.memo(`${type}?${path}`, async () => {
    const entry = await req.backend.stat(path);
    return !!entry && entry.kind === 'collection' && hasType(new Resource(req, entry), type);
  });
}

/** A calendar's (or an address book's) members that are files, one level. */
export async function* calendarObjects(req: DavRequest, path: string): AsyncGenerator<Entry> {
  for await (const e of req.backend.list(path)) if (e.kind === 'file') yield e;
}
