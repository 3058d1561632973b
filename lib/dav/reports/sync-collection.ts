/**
 * REPORT sync-collection (RFC 6578), on any collection whose backend can tell changes: an empty token
 * lists every member; a token lists what changed since (removed members as 404 responses); with
 * DAV:limit, a truncated answer carries a 507 for the collection and a token for exactly the state
 * reported, so the next call goes on from there. `Depth: 1` is tolerated (Thunderbird sends it).
 */
import type { ReportHandler } from '../reports.js';
import { Resource } from '../properties/registry.js';
import { badRequest, forbidden, MemberError } from '../errors/dav-error.js';
import { checkPropRequest, propRequest, propResponse, type PropRequest } from '../propfind-core.js';
import { hrefStatus, memberErrorResponse, peeked, sendMultistatus, withinLimits } from '../multistatus.js';
import { child, textOf } from '../xml/parse.js';
import { el, type OutElement } from '../xml/write.js';
import { dav, NS } from '../xml/names.js';
import { isBackendError } from '../../../backends/errors.js';
import { isSyncCapable } from '../../../backends/capabilities.js';
import { timeSlicer } from '../time-slicer.js';

export const syncCollection: ReportHandler = {
  name: dav('sync-collection'),
  supportedOn: (res) => res.isCollection && isSyncCapable(res.req.backend),

  async run(req, body, target) {
    const depth = req.header('Depth');
    if (depth !== undefined && depth !== '0' && depth !== '1') throw badRequest('sync-collection takes Depth 0 (or 1)');
    const tokenEl = child(body, NS.DAV, 'sync-token');
    if (!tokenEl) throw badRequest('sync-collection needs a DAV:sync-token element (empty for a first sync)');
    const since = textOf(tokenEl).trim() || undefined;
    const levelEl = child(body, NS.DAV, 'sync-level');
    const level = levelEl ? textOf(levelEl).trim() : '1';
    if (level !== '1') throw forbidden(`sync-level ${level} is not supported here; use 1`);
    const propEl = child(body, NS.DAV, 'prop');
    const request: PropRequest = propEl ? propRequest(propEl) : { kind: 'prop', names: [dav('getetag')] };
    checkPropRequest(req, request); // a bad calendar-data or address-data: its 4xx before the 207 starts
    const limitEl = child(body, NS.DAV, 'limit');
    const nresults = limitEl && child(limitEl, NS.DAV, 'nresults');
    let limit: number | undefined;
    if (nresults) {
      limit = Number(textOf(nresults).trim());
      if (!Number.isInteger(limit) || limit < 1) throw badRequest('DAV:nresults must be a positive integer');
    }

    const backend = req.backend;
    if (!isSyncCapable(backend)) throw forbidden('this collection cannot sync'); // supportedOn said so
    const changes = await backend.changes(target.path, since, limit);
    const minimal = { minimal: false };
    async function* responses(): AsyncGenerator<OutElement> {
      // A first sync of a big collection: 10,000 responses, each a few microtasks; others run in between.
      const pause = timeSlicer();
      for (const entry of changes.changed) {
        await pause();
        try {
          yield await propResponse(new Resource(req, entry), request, minimal);
        } catch (err) {
          // This member cannot be given as asked (a card in a vCard version it cannot be written in): its own response says so.
          if (!(err instanceof MemberError)) throw err;
          yield memberErrorResponse(req.href(entry.path, false), err);
        }
      }
      for (const path of changes.removed) yield hrefStatus(req.href(path, false), 404);
      if (changes.truncated) yield hrefStatus(target.href, 507, el(dav('number-of-matches-within-limits')));
    }
    // A spent step budget once responses are out (withinLimits): the answer ends with a 507 for the
    // collection, as a DAV:limit does, and a token for the state before this answer (the old one, or
    // an empty collection's for a first sync), so the responses sent are true and the client asks again.
    let token = changes.token;
    const cut = async (): Promise<OutElement[]> => {
      token = since ?? (await backend.changes(target.path, undefined, 0)).token;
      return [hrefStatus(target.href, 507, el(dav('number-of-matches-within-limits')))];
    };
    // Streamed: each response sent and dropped (whole cards or calendar objects asked of a big
    // collection are never held at once). The first is produced before the status is sent (peeked).
    sendMultistatus(req.ctx, await peeked(withinLimits(req.ctx, responses(), cut)), () => [el(dav('sync-token'), token)]);
  },
};

/** DAV:sync-token on collections whose backend can sync. */
export const syncTokenProperty = {
  name: dav('sync-token'),
  inAllprop: false,
  protected: true,
  appliesTo: (r: Resource) => r.isCollection && isSyncCapable(r.req.backend),
  // On a full disk a token may not be makeable (the folder backend saves a snapshot, a new tree's
  // key may be missing): the property is then absent from this answer, not the whole answer cut off.
  get: async (r: Resource) => {
    const backend = r.req.backend;
    if (!isSyncCapable(backend)) return null;
    try {
      return [await backend.syncToken(r.path)];
    } catch (err) {
      if (isBackendError(err) && err.code === 'InsufficientStorage') return null;
      throw err;
    }
  },
};
