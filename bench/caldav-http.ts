/**
 * The CalDAV bench's HTTP side: requests on keep-alive agents with Basic credentials (gitdav and
 * Radicale accept any; Xandikos ignores them), the REPORT bodies, a loose multistatus reader (any
 * namespace prefix), and the parallel PUT upload. Every loop is bounded by a count or a deadline.
 */
import { Agent, request, type OutgoingHttpHeaders } from 'node:http';
import { edited, type CalEvent } from './caldav-data.js';

export const AUTH = 'Basic ' + Buffer.from('user:bench').toString('base64');
const XML = 'application/xml; charset=utf-8';

export interface Reply {
  status: number;
  body: string;
  ms: number;
}

/** One request on `agent` (keep-alive), the body read whole; `ms` from sending to the last byte. */
export function send(agent: Agent | undefined, url: string, method: string, headers: OutgoingHttpHeaders = {}, body?: string, timeoutMs = 300_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const all: OutgoingHttpHeaders = { Authorization: AUTH, ...headers };
    if (body !== undefined) all['Content-Length'] = Buffer.byteLength(body);
    const t0 = performance.now();
    const req = request(url, { method, headers: all, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

export const keepAlive = () => new Agent({ keepAlive: true, maxSockets: 1 });

export function mkcalendarBody(name: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <D:displayname>${name}</D:displayname>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>`;
}

const icsUtc = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');

export function queryBody(start: number, end: number): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter>
    <C:comp-filter name="VCALENDAR">
      <C:comp-filter name="VEVENT">
        <C:time-range start="${icsUtc(start)}" end="${icsUtc(end)}"/>
      </C:comp-filter>
    </C:comp-filter>
  </C:filter>
</C:calendar-query>`;
}

export function multigetBody(hrefs: string[]): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
${hrefs.map((h) => `  <D:href>${h}</D:href>`).join('\n')}
</C:calendar-multiget>`;
}

export function syncBody(token: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:">
  <D:sync-token>${token}</D:sync-token>
  <D:sync-level>1</D:sync-level>
  <D:prop><D:getetag/></D:prop>
</D:sync-collection>`;
}

export const SYNC_TOKEN_PROPFIND = `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>`;

export const reportHeaders = (depth: string) => ({ Depth: depth, 'Content-Type': XML });

export interface MsResponse {
  href: string;
  /** The response's own status or its first propstat status, e.g. 200 or 404. */
  status: number;
  hasCalendarData: boolean;
  /** Whether it carries a vCard (CARDDAV:address-data). */
  hasCardData: boolean;
}

const decode = (s: string) =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');

/** The <response> elements of a multistatus body, whatever prefix (or default namespace) it uses. */
export function parseMultistatus(xml: string): { responses: MsResponse[]; syncToken?: string } {
  const responses: MsResponse[] = [];
  const parts = xml.split(/<(?:[A-Za-z][\w.-]*:)?response[\s>]/).slice(1);
  for (const part of parts) {
    const href = part.match(/<(?:[A-Za-z][\w.-]*:)?href[^>]*>([^<]*)</)?.[1]?.trim() ?? '';
    const status = Number(part.match(/<(?:[A-Za-z][\w.-]*:)?status[^>]*>\s*HTTP\/1\.[01] (\d{3})/)?.[1] ?? 0);
    responses.push({ href: decode(href), status, hasCalendarData: part.includes('BEGIN:VCALENDAR'), hasCardData: part.includes('BEGIN:VCARD') });
  }
  const syncToken = xml.match(/<(?:[A-Za-z][\w.-]*:)?sync-token[^>]*>([^<]*)</)?.[1]?.trim();
  return { responses, syncToken: syncToken ? decode(syncToken) : undefined };
}

/** The last path segment of an href (percent-decoded), e.g. ev-00042.ics. */
export const memberName = (href: string) => decodeURIComponent(href.replace(/\/$/, '').split('/').pop() ?? '');

export interface UploadResult {
  rate: number;
  done: number;
  errors: number;
  firstError?: string;
  seconds: number;
}

/** PUTs every event into `calendarUrl` (ends in /), `clients` keep-alive clients pulling from one queue. */
export function uploadAll(calendarUrl: string, items: { name: string; ics: string }[], clients: number, maxSeconds: number): Promise<UploadResult> {
  return putAll(calendarUrl, items.map((it) => ({ name: it.name, body: it.ics })), 'text/calendar; charset=utf-8', clients, maxSeconds);
}

/** PUTs (If-None-Match: *) every item into `collectionUrl` (ends in /), `clients` keep-alive clients pulling from one queue, until `maxSeconds`. */
export async function putAll(collectionUrl: string, items: { name: string; body: string }[], contentType: string, clients: number, maxSeconds: number): Promise<UploadResult> {
  const deadline = Date.now() + maxSeconds * 1000;
  let next = 0;
  let done = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const agent = keepAlive();
      try {
        while (next < items.length && Date.now() < deadline) {
          const it = items[next++]!;
          try {
            const r = await send(agent, collectionUrl + it.name, 'PUT', { 'Content-Type': contentType, 'If-None-Match': '*' }, it.body, 120_000);
            if (r.status !== 201 && r.status !== 204) {
              errors++;
              firstError ??= `PUT ${it.name}: ${r.status} ${r.body.slice(0, 200).replace(/\s+/g, ' ')}`;
            }
          } catch (err) {
            errors++;
            firstError ??= `PUT ${it.name}: ${(err as Error).message}`;
          }
          done++;
        }
      } finally {
        agent.destroy();
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { rate: done / seconds, done, errors, firstError, seconds };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The p-th percentile (0–100) by the nearest-rank method: p95 of 20 runs is the 19th smallest. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** How one member is changed for the sync runs: the new body and its media type. */
export interface Change<T> {
  body(item: T, n: number): string;
  contentType: string;
}

const ICS_CHANGE: Change<CalEvent> = { body: edited, contentType: 'text/calendar; charset=utf-8' };

/**
 * `runs` times: the token (PROPFIND), one changed event (PUT), then the timed sync-collection; the
 * p50 in ms. Answers that list more than the one change, or miss it, go to `note`.
 */
export async function syncRuns<T extends { name: string } = CalEvent>(
  agent: Agent,
  cal: string,
  url: string,
  items: T[],
  runs: number,
  H: string,
  note: (s: string) => void,
  change: Change<T> = ICS_CHANGE as unknown as Change<T>,
): Promise<{ value: number }> {
  const times: number[] = [];
  const counts: number[] = [];
  let wrong = 0;
  for (let i = 0; i < runs; i++) {
    const pf = await send(agent, url, 'PROPFIND', reportHeaders('0'), SYNC_TOKEN_PROPFIND);
    const token = parseMultistatus(pf.body).syncToken;
    if (pf.status !== 207 || !token) throw new Error(`PROPFIND sync-token on ${cal} gave ${pf.status} without a token`);
    const e = items[(i * 97 + 3) % items.length]!;
    const put = await send(agent, url + e.name, 'PUT', { 'Content-Type': change.contentType }, change.body(e, i + 1));
    if (put.status !== 204 && put.status !== 201) throw new Error(`PUT of a changed ${e.name} answered ${put.status}: ${put.body.slice(0, 160)}`);
    const r = await send(agent, url, 'REPORT', reportHeaders('0'), syncBody(token));
    if (r.status !== 207) throw new Error(`sync-collection on ${cal} answered ${r.status}: ${r.body.slice(0, 160)}`);
    const ms = parseMultistatus(r.body);
    counts.push(ms.responses.length);
    if (!ms.responses.some((x) => memberName(x.href) === e.name)) wrong++;
    times.push(r.ms);
  }
  if (counts.some((c) => c !== 1)) note(`${H}: sync-collection on ${cal} after one change listed ${[...new Set(counts)].join('/')} members (want 1)`);
  if (wrong) note(`${H}: sync-collection on ${cal} missed the changed member in ${wrong} of ${runs} runs`);
  return { value: median(times) };
}
