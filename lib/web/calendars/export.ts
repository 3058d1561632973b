/**
 * `?view=export` on a calendar or an address book: the whole collection as one file, streamed object
 * by object (never held whole): a calendar as one VCALENDAR (each VTIMEZONE once, before the first
 * object that uses it; the URL a webcal subscription polls), a book as its cards one after another
 * (text/vcard, RFC 6350 §3.1). The pages link here because a browser asking for the collection's own
 * URL gets its page (negotiate.ts), while clients keep getting the same data there.
 *
 * Objects are split as text (BEGIN/END lines), not parsed: no step budget to run out mid-stream, and
 * memory is one object (bounded by max-resource-size). The ETag is the collection's, which changes
 * whenever a member does, so pollers get a 304 when nothing changed.
 */
import { Readable } from 'node:stream';
import { baseName, type Entry } from '../../../backends/backend.js';
import { isBackendError } from '../../../backends/errors.js';
import type { CalDavStates } from '../../caldav/state/states.js';
import { calendarObjects, objectText } from '../../caldav/objects.js';
import { cardText, storedCard } from '../../carddav/cards.js';
import { evaluateHttpConditions, httpConditionHeaders } from '../../dav/conditions.js';
import type { DavRequest } from '../../dav/context.js';
import { badRequest, preconditionFailed } from '../../dav/errors/dav-error.js';
import { sendEmpty } from '../../dav/respond.js';
import { collectionInfo, kindOf } from './collections.js';
import { groupwareStates } from './negotiate.js';

export async function exportView(req: DavRequest, entry: Entry, headOnly: boolean): Promise<void> {
  const states = groupwareStates(req);
  const kind = states ? await kindOf(req, entry) : null;
  if (!states || !kind) throw badRequest('?view=export is for a calendar or an address book');
  const verdict = evaluateHttpConditions(req.method, httpConditionHeaders(req), entry);
  if (verdict === 'failed') throw preconditionFailed();
  if (verdict === 'not-modified') return sendEmpty(req.ctx, 304, { ETag: entry.etag });
  const file = `${baseName(entry.path).replace(/[^\w.~-]+/g, '_') || 'export'}.${kind === 'calendar' ? 'ics' : 'vcf'}`;
  const headers = {
    'Content-Type': kind === 'calendar' ? 'text/calendar; charset=utf-8' : 'text/vcard; charset=utf-8',
    ETag: entry.etag,
    'Last-Modified': entry.modified.toUTCString(),
    'Content-Disposition': `inline; filename="${file}"`,
    'X-Content-Type-Options': 'nosniff',
  };
  if (headOnly) return sendEmpty(req.ctx, 200, headers); // the length is known only by reading everything
  for (const [k, v] of Object.entries(headers)) req.ctx.set(k, v);
  req.ctx.status = 200;
  if (kind === 'calendar') {
    const name = (await collectionInfo(req, states, entry, kind)).name;
    req.ctx.body = Readable.from(calendarStream(req, states, entry.path, name));
  } else {
    req.ctx.body = Readable.from(cardStream(req, states, entry.path));
  }
}

/** A member's text, or null when it went away since the listing (the 200 is already sent). */
async function textOrGone(read: () => Promise<string>): Promise<string | null> {
  try {
    return await read();
  } catch (err) {
    if (isBackendError(err, 'NotFound')) return null;
    throw err;
  }
}

async function* calendarStream(req: DavRequest, states: CalDavStates, path: string, name: string): AsyncGenerator<string> {
  yield ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//gitdav//gitdav web//EN', `X-WR-CALNAME:${icalText(name)}`, ''].join('\r\n');
  const zones = new Set<string>();
  for await (const member of calendarObjects(req, path)) {
    const text = await textOrGone(() => objectText(states, req, member));
    if (text === null) continue;
    const out: string[] = [];
    for (const block of topLevelBlocks(text)) {
      if (block.name === 'VTIMEZONE') {
        const tzid = /^TZID(?:;[^:\r\n]*)?:(.*)$/im.exec(block.text)?.[1]?.trim() ?? '';
        if (zones.has(tzid)) continue;
        zones.add(tzid);
      }
      out.push(block.text);
    }
    if (out.length) yield out.join('');
  }
  yield 'END:VCALENDAR\r\n';
}

/**
 * The components directly inside a stored object's VCALENDAR (VEVENT, VTODO, VTIMEZONE, …), each as
 * its lines with CRLF ends. Folded lines stay folded (a continuation starts with a space or tab).
 * Text that is not a VCALENDAR gives nothing.
 */
export function topLevelBlocks(text: string): Array<{ name: string; text: string }> {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const blocks: Array<{ name: string; text: string }> = [];
  let depth = 0;
  let current: { name: string; lines: string[] } | null = null;
  for (const line of lines) {
    const begin = /^BEGIN:([A-Za-z0-9-]+)\s*$/.exec(line);
    const end = /^END:([A-Za-z0-9-]+)\s*$/.exec(line);
    if (begin) {
      depth++;
      if (depth === 1 && begin[1]!.toUpperCase() !== 'VCALENDAR') return [];
      if (depth === 2) current = { name: begin[1]!.toUpperCase(), lines: [] };
    }
    if (current && line !== '') current.lines.push(line);
    if (end) {
      if (depth === 2 && current) {
        blocks.push({ name: current.name, text: current.lines.join('\r\n') + '\r\n' });
        current = null;
      }
      depth--;
    }
  }
  return blocks;
}

async function* cardStream(req: DavRequest, states: CalDavStates, path: string): AsyncGenerator<string> {
  for await (const member of calendarObjects(req, path)) {
    const card = await textOrGone(async () => ((await storedCard(states, req, member)) ? cardText(states, req, member) : ''));
    if (!card) continue;
    yield card.replace(/^\uFEFF/, '').replace(/\r?\n$/, '') + '\r\n';
  }
}

/** TEXT escaping (RFC 5545 §3.3.11) for X-WR-CALNAME. */
function icalText(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
}
