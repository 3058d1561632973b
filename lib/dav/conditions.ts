/**
 * Request preconditions, evaluated by one evaluator for every method:
 *  - the `If:` header (RFC 4918 §10.4) against each named resource's ETag and locks;
 *  - lock tokens: a change to a locked resource needs one of its lock's tokens submitted (§7, §10.4.1);
 *  - HTTP conditionals (RFC 9110 §13): If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since.
 * For writes, `writeGuard` packs all of this into a backend Guard, so it runs again inside the atomic
 * write step against the state being changed; handlers also call it once before reading a body so
 * that a doomed upload fails before the client sends it.
 */
import type { Entry, Guard, GuardView } from '../../backends/backend.js';
import type { DavRequest } from './context.js';
import { mayUseLock } from './locks/lock-manager.js';
import type { Lock } from './locks/lock.js';
import { submittedTokens, type IfList } from './if-header.js';
import { DavError, preconditionFailed } from './errors/dav-error.js';
import { el } from './xml/write.js';
import { dav } from './xml/names.js';
import { parseHttpDate } from './http-date.js';

/** A resource a request changes, and how: `tree` = it and everything below; `membership` = its parent's member list. */
export interface Target {
  path: string;
  tree?: boolean;
  membership?: boolean;
}

// ---- HTTP conditionals (pure) ----------------------------------------------------------------------

export type HttpConditionResult = 'pass' | 'not-modified' | 'failed';

export function evaluateHttpConditions(
  method: string,
  headers: { ifMatch?: string; ifNoneMatch?: string; ifModifiedSince?: string; ifUnmodifiedSince?: string },
  entry: Entry | null,
): HttpConditionResult {
  const safe = method === 'GET' || method === 'HEAD';
  if (headers.ifMatch !== undefined) {
    if (!matchesEtagList(headers.ifMatch, entry, true)) return 'failed';
  } else if (headers.ifUnmodifiedSince !== undefined && entry) {
    const since = parseHttpDate(headers.ifUnmodifiedSince);
    if (since !== null && seconds(entry.modified) > since) return 'failed';
  }
  if (headers.ifNoneMatch !== undefined) {
    if (matchesEtagList(headers.ifNoneMatch, entry, false)) return safe ? 'not-modified' : 'failed';
  } else if (safe && headers.ifModifiedSince !== undefined && entry) {
    const since = parseHttpDate(headers.ifModifiedSince);
    if (since !== null && seconds(entry.modified) <= since) return 'not-modified';
  }
  return 'pass';
}

function matchesEtagList(list: string, entry: Entry | null, strong: boolean): boolean {
  if (!entry) return false;
  if (list.trim() === '*') return true;
  const tags = list.match(/(?:W\/)?"[^"]*"/g) ?? [];
  const mine = entry.etag;
  return tags.some((t) => (strong ? !t.startsWith('W/') && t === mine : t.replace(/^W\//, '') === mine.replace(/^W\//, '')));
}

function seconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

// ---- If: header ------------------------------------------------------------------------------------

/** True when the If header is absent or any of its lists holds (RFC 4918 §10.4.3). */
export async function evaluateIf(req: DavRequest, view: GuardView): Promise<boolean> {
  const lists = req.ifLists();
  if (lists.length === 0) return true;
  for (const list of lists) if (await listHolds(req, list, view)) return true;
  return false;
}

async function listHolds(req: DavRequest, list: IfList, view: GuardView): Promise<boolean> {
  const path = list.tag === undefined ? req.path : req.pathOfHref(list.tag);
  const entry = path === null ? null : await view.stat(path);
  const tokens = path === null ? [] : usableLocks(req, req.dav.locks.covering(path)).map((l) => l.token);
  for (const c of list.conditions) {
    const holds = c.kind === 'etag' ? entry !== null && entry.etag === c.value : tokens.includes(c.value);
    if (holds === c.not) return false;
  }
  return true;
}

// ---- locks -----------------------------------------------------------------------------------------

/**
 * The locks whose tokens this request's user may use: a token names a lock, but only its holder may
 * act with it (RFC 4918 §6.4), so a token learnt from another user's lockdiscovery is worth nothing.
 */
export function usableLocks(req: DavRequest, locks: Lock[]): Lock[] {
  const user = req.ctx.state.user as string | undefined;
  return locks.filter((l) => mayUseLock(l, user));
}

/** Locks on the targets whose tokens the request did not submit (empty = may proceed). */
export function unheldLocks(req: DavRequest, targets: Target[]): Lock[] {
  const user = req.ctx.state.user as string | undefined;
  const submitted = submittedTokens(req.ifLists());
  const missing = new Map<string, Lock>();
  for (const t of targets) {
    const locks = req.dav.locks.protecting(t.path, { tree: !!t.tree, membership: !!t.membership });
    // Any one token of a set of shared locks on the same root suffices; exclusive locks need theirs.
    const byRoot = new Map<string, Lock[]>();
    for (const l of locks) byRoot.set(l.root + '\0' + l.scope, [...(byRoot.get(l.root + '\0' + l.scope) ?? []), l]);
    for (const group of byRoot.values()) {
      if (!group.some((l) => submitted.has(l.token) && mayUseLock(l, user))) for (const l of group) missing.set(l.token, l);
    }
  }
  return [...missing.values()];
}

export function lockedError(req: DavRequest, locks: Lock[]): DavError {
  const roots = [...new Set(locks.map((l) => l.root))];
  return new DavError(423, `locked: ${roots.join(', ')} (submit the lock token in an If header)`, {
    condition: el(dav('lock-token-submitted'), ...roots.map((r) => el(dav('href'), req.href(r, false)))),
  });
}

// ---- the combined write guard ----------------------------------------------------------------------

/**
 * Everything a write must satisfy, as a Guard: the If header holds, the targets' locks are held, and
 * the HTTP conditionals pass for the request resource.
 */
export function writeGuard(req: DavRequest, targets: Target[]): Guard {
  return async (view) => {
    if (!(await evaluateIf(req, view))) throw preconditionFailed('the If header does not match the resource state');
    const unheld = unheldLocks(req, targets);
    if (unheld.length) throw lockedError(req, unheld);
    const entry = await view.stat(req.path);
    if (evaluateHttpConditions(req.method, httpConditionHeaders(req), entry) !== 'pass') {
      throw preconditionFailed('If-Match / If-None-Match / If-Unmodified-Since failed');
    }
  };
}

export function httpConditionHeaders(req: DavRequest) {
  return {
    ifMatch: req.header('If-Match'),
    ifNoneMatch: req.header('If-None-Match'),
    ifModifiedSince: req.header('If-Modified-Since'),
    ifUnmodifiedSince: req.header('If-Unmodified-Since'),
  };
}

/**
 * The view for checks outside a write step (a method's early check): the request path and its parent
 * as `req.target()` found them, if the method asked for it (not looked up again), anything else
 * straight from the backend.
 */
export function liveView(req: DavRequest): GuardView {
  return {
    stat: async (p) => {
      const known = await req.known(p);
      return known !== undefined ? known : req.backend.stat(p);
    },
  };
}
