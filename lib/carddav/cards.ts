/**
 * Reading an address book's cards: each read and parsed once per ETag (a strong ETag names one exact
 * content, so a kept card is never stale), whether a collection is an address book (memoised per
 * request), and a member's UID for no-uid-conflict (caldav/uid-index.ts, shared with calendars).
 *
 * The cache is the process's, bounded by bytes for every tree together, keyed by (tree, ETag) as the
 * calendar object cache is: a parsed card is weighed at its text plus PARSED_FACTOR × its text (the
 * parsed form holds each line twice, raw and unescaped, in small objects), so 10,000 typical cards
 * (~6 MB of text) stay whole in the default 32 MB and a query over them parses nothing again.
 */
import type { Entry } from '../../backends/backend.js';
import { Lru } from '../../backends/util/lru.js';
import { cacheCounts } from '../../backends/util/stats.js';
import type { DavRequest } from '../dav/context.js';
import { escapeText } from '../dav/xml/write.js';
import { ObjectCache, type CachedObject } from '../caldav/state/object-cache.js';
import type { CalDavStates } from '../caldav/state/states.js';
import type { UidReader } from '../caldav/uid-index.js';
import { calendarObjects, isCollectionOfType } from '../caldav/objects.js';
import { parseCard, type ParsedCard } from './vcard/index.js';
import { ADDRESSBOOK } from './context.js';

const PARSED_FACTOR = 3;
export const DEFAULT_CARD_CACHE_BYTES = 32 * 1024 * 1024;

type Slot = CachedObject<ParsedCard | null>;
const weigh = (c: Slot) => c.text.length * (c.parsed ? 1 + PARSED_FACTOR : 1) + (c.xml !== undefined && c.xml !== c.text ? c.xml.length : 0);
const memory = new Lru<Slot>(DEFAULT_CARD_CACHE_BYTES, weigh, cacheCounts('carddav_cards'));
/** One ObjectCache view per tree (they share `memory`); a handful of small objects, one per tree. */
const scopes = new Map<string, ObjectCache<ParsedCard | null>>();

function cacheOf(states: CalDavStates, req: DavRequest, entry: Entry): ObjectCache<ParsedCard | null> {
  const scope = states.stateOf(req.backend, entry.path).state.stateDir;
  let cache = scopes.get(scope);
  if (!cache) scopes.set(scope, (cache = new ObjectCache(memory, `card\0${scope}`)));
  return cache;
}

/** No size limit when reading back what is stored: the limit applied when it was written. */
const STORED = { maxResourceSize: Number.MAX_SAFE_INTEGER };

/** The stored card's text, as stored. */
export function cardText(states: CalDavStates, req: DavRequest, entry: Entry): Promise<string> {
  return cacheOf(states, req, entry).text(req.backend, entry);
}

/** The stored card's text escaped for XML character data (address-data in a multistatus). */
export function cardXmlText(states: CalDavStates, req: DavRequest, entry: Entry): Promise<string> {
  return cacheOf(states, req, entry).escaped(req.backend, entry, escapeText);
}

/**
 * The stored card parsed, or null when its bytes are not a valid card (written over plain WebDAV into
 * a folder that later became an address book, or into the folder directly): skipped by queries.
 */
export function storedCard(states: CalDavStates, req: DavRequest, entry: Entry): Promise<ParsedCard | null> {
  return cacheOf(states, req, entry).parsed(req.backend, entry, parseStored);
}

/** A member's UID, for the UID index: the card is parsed but not kept (an upload would fill the cache). */
export const cardUid: UidReader = async (states, req, entry) => (await cacheOf(states, req, entry).parsedOnce(req.backend, entry, parseStored))?.uid;

function parseStored(text: string): ParsedCard | null {
  try {
    return parseCard(Buffer.from(text, 'utf8'), STORED);
  } catch {
    return null;
  }
}

export function isAddressBookPath(req: DavRequest, path: string): Promise<boolean> {
  return isCollectionOfType(req, path, ADDRESSBOOK);
}

/** The address book's members that are files (cards or not), one level. */
export const addressBookMembers = calendarObjects;
