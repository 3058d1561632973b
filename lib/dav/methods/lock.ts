/**
 * LOCK (RFC 4918 §9.10): create (exclusive or shared, depth 0 or infinity, on mapped or unmapped URLs)
 * or refresh (no body, the token in an If header). A lock on an unmapped URL creates an empty file.
 */
import { Readable } from 'node:stream';
import type { DavRequest, MethodHandler } from '../context.js';
import { evaluateIf, liveView, usableLocks, writeGuard } from '../conditions.js';
import { DavError, badRequest, preconditionFailed } from '../errors/dav-error.js';
import { submittedTokens } from '../if-header.js';
import { LockConflictError, LockLimitError, parseTimeout } from '../locks/lock-manager.js';
import type { Lock, LockScope } from '../locks/lock.js';
import { activeLock } from '../locks/render.js';
import { findEntry } from '../respond.js';
import { child, elements, is } from '../xml/parse.js';
import { el, elementToXml, serialize } from '../xml/write.js';
import { dav, NS } from '../xml/names.js';

export const lock: MethodHandler = async (req) => {
  const body = await req.readXml();
  const timeout = parseTimeout(req.header('Timeout'), req.dav.options.lockTimeout.fallback, req.dav.options.lockTimeout.max);
  if (!body) return refresh(req, timeout);

  if (!is(body, NS.DAV, 'lockinfo')) throw badRequest('LOCK needs a DAV:lockinfo body');
  const scopeEl = child(body, NS.DAV, 'lockscope');
  const scopeName = scopeEl && elements(scopeEl)[0];
  const scope: LockScope | null =
    scopeName && is(scopeName, NS.DAV, 'exclusive') ? 'exclusive' : scopeName && is(scopeName, NS.DAV, 'shared') ? 'shared' : null;
  if (!scope) throw badRequest('DAV:lockscope must be exclusive or shared');
  const typeEl = child(body, NS.DAV, 'locktype');
  if (!typeEl || !elements(typeEl).some((e) => is(e, NS.DAV, 'write'))) throw badRequest('only DAV:write locks exist');
  const depthHeader = req.depth('infinity');
  if (depthHeader === '1') throw badRequest('LOCK takes Depth 0 or infinity');
  const ownerEl = child(body, NS.DAV, 'owner');

  const spec = {
    root: req.path,
    depth: depthHeader === '0' ? (0 as const) : ('infinity' as const),
    scope,
    owner: ownerEl ? elementToXml(ownerEl, false) : undefined,
    principal: req.ctx.state.user as string | undefined,
    timeout,
  };
  const create = async (): Promise<Lock> => {
    try {
      return await req.dav.locks.create(spec);
    } catch (err) {
      if (err instanceof LockConflictError) {
        throw new DavError(423, err.message, {
          condition: el(dav('no-conflicting-lock'), el(dav('href'), req.href(err.conflicting.root, false))),
        });
      }
      // A too-large owner is the request's fault (400); a full table or quota is not, and passes
      // as locks expire or are unlocked: 507, as for storage (RFC 4918 §11.5).
      if (err instanceof LockLimitError) throw new DavError(err.limit === 'owner' ? 400 : 507, err.message);
      throw err;
    }
  };

  const entry = await findEntry(req);
  let created = false;
  let newLock: Lock;
  if (entry) {
    if (!(await evaluateIf(req, liveView(req)))) throw preconditionFailed('the If header does not match the resource state');
    newLock = await create();
  } else {
    // A locked empty resource (§7.3): the lock is taken inside the same write step that creates it.
    for (const hook of req.dav.lockNullHooks) await hook(req, req.path);
    const guard = writeGuard(req, [{ path: req.path, membership: true }]);
    await guard(liveView(req));
    let taken: Lock | undefined;
    try {
      await req.backend.write(req.path, Readable.from([]), {
        actor: req.actor(),
        length: 0,
        guard: async (view) => {
          await guard(view);
          taken = await create();
        },
      });
    } catch (err) {
      if (taken) await req.dav.locks.remove(taken.token);
      throw err;
    }
    newLock = taken!;
    created = true;
  }
  respond(req, created ? 201 : 200, newLock, entry?.kind === 'collection', true);
};

async function refresh(req: DavRequest, timeout: number): Promise<void> {
  const submitted = submittedTokens(req.ifLists());
  const mine = usableLocks(req, req.dav.locks.covering(req.path)).filter((l) => submitted.has(l.token));
  if (mine.length === 0) {
    throw new DavError(412, 'a lock refresh needs the token of a lock on this resource in an If header', {
      condition: el(dav('lock-token-matches-request-uri')),
    });
  }
  if (!(await evaluateIf(req, liveView(req)))) throw preconditionFailed('the If header does not match the resource state');
  const refreshed = (await req.dav.locks.refresh(mine[0]!.token, timeout))!;
  const rootEntry = await req.backend.stat(refreshed.root);
  respond(req, 200, refreshed, rootEntry?.kind === 'collection', false);
}

function respond(req: DavRequest, status: number, lock: Lock, collection: boolean, withToken: boolean): void {
  req.ctx.status = status;
  if (withToken) req.ctx.set('Lock-Token', `<${lock.token}>`);
  req.ctx.type = 'application/xml; charset=utf-8';
  req.ctx.body = serialize(el(dav('prop'), el(dav('lockdiscovery'), activeLock(req, lock, collection))));
}
