/** The DAV protocol layer, assembled: one `Dav` per mount with its method, property and report tables. */
import type { Backend } from '../../backends/backend.js';
import { DEFAULT_DAV_OPTIONS, type Dav, type DavOptions, type MethodHandler } from './context.js';
import { DigestCache } from './digest.js';
import { LockManager } from './locks/lock-manager.js';
import { PropertyRegistry } from './properties/registry.js';
import { CORE_PROPERTIES } from './properties/live.js';
import { OWNCLOUD_PROPERTIES } from './properties/owncloud.js';
import { ReportRegistry } from './reports.js';
import { contentTypeOf } from './mime.js';
import { copy } from './methods/copy.js';
import { del } from './methods/delete.js';
import { get } from './methods/get.js';
import { head } from './methods/head.js';
import { lock } from './methods/lock.js';
import { mkcol } from './methods/mkcol.js';
import { move } from './methods/move.js';
import { options } from './methods/options.js';
import { propfind } from './methods/propfind.js';
import { proppatch } from './methods/proppatch.js';
import { put } from './methods/put.js';
import { report } from './methods/report.js';
import { unlock } from './methods/unlock.js';
import { syncCollection, syncTokenProperty } from './reports/sync-collection.js';

export const CORE_METHODS: ReadonlyArray<[string, MethodHandler]> = [
  ['OPTIONS', options],
  ['GET', get],
  ['HEAD', head],
  ['PUT', put],
  ['DELETE', del],
  ['MKCOL', mkcol],
  ['COPY', copy],
  ['MOVE', move],
  ['PROPFIND', propfind],
  ['PROPPATCH', proppatch],
  ['LOCK', lock],
  ['UNLOCK', unlock],
  ['REPORT', report],
];

export interface CreateDavOptions {
  backend: Backend;
  prefix?: string;
  options?: Partial<DavOptions>;
}

export async function createDav({ backend, prefix = '', options = {} }: CreateDavOptions): Promise<Dav> {
  const limits = { ...DEFAULT_DAV_OPTIONS.limits, ...options.limits };
  const locks = await LockManager.open(backend.stateDir, limits);
  const dav: Dav = {
    backend,
    prefix: prefix.replace(/\/+$/, ''),
    locks,
    props: new PropertyRegistry().register(...CORE_PROPERTIES, syncTokenProperty, ...OWNCLOUD_PROPERTIES),
    reports: new ReportRegistry().register(syncCollection),
    methods: new Map(CORE_METHODS),
    digests: new DigestCache(),
    options: {
      limits,
      lockTimeout: { ...DEFAULT_DAV_OPTIONS.lockTimeout, ...options.lockTimeout },
    },
    compliance: ['1', '2', '3', 'extended-mkcol'],
    resourceTypes: new Set(),
    creationOnly: new Set(),
    putHooks: [],
    transferHooks: [],
    deleteHooks: [],
    collectionHooks: [],
    lockNullHooks: [],
    errorMappers: [],
    contentType: async (_req, entry) => contentTypeOf(entry.path),
    // The manager made here, even where a caller put another table in its place (it follows the journal).
    closeHooks: [async () => locks.close()],
    async close() {
      for (const hook of dav.closeHooks.splice(0)) await hook();
    },
  };
  return dav;
}

export { davMiddleware } from './dispatch.js';
export type { Dav, DavOptions } from './context.js';
