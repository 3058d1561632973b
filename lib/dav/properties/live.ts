/** The live properties of RFC 4918 §15, RFC 3253 (supported-report-set) and RFC 4331 (quota). */
import type { LiveProperty, Resource } from './registry.js';
import { activeLock } from '../locks/render.js';
import { extraTypes } from '../resource-types.js';
import { el, type OutNode } from '../xml/write.js';
import { dav, NS } from '../xml/names.js';
import { baseName, type Entry, type Quota, type VersionInfo } from '../../../backends/backend.js';
import { isQuotaAware, isVersioned } from '../../../backends/capabilities.js';
import { modifiedOf } from '../owncloud.js';

const isFile = (r: Resource) => !r.isCollection;
const gitdav = (local: string) => `{${NS.GITDAV}}${local}`;
const isCollection = (r: Resource) => r.isCollection;

export const resourcetype: LiveProperty = {
  name: dav('resourcetype'),
  inAllprop: true,
  protected: true,
  get: async (r) => (r.isCollection ? [el(dav('collection')), ...(await extraTypes(r))] : []),
};

export const getcontentlength: LiveProperty = {
  name: dav('getcontentlength'),
  inAllprop: true,
  protected: true,
  appliesTo: isFile,
  get: (r) => [String(r.entry.size)],
};

export const getcontenttype: LiveProperty = {
  name: dav('getcontenttype'),
  inAllprop: true,
  protected: true,
  appliesTo: isFile,
  get: async (r) => [await r.req.dav.contentType(r.req, r.entry)],
};

export const getetag: LiveProperty = {
  name: dav('getetag'),
  inAllprop: true,
  protected: true,
  get: (r) => [r.entry.etag],
};

/** The backend's time, or one a client set for this content (X-OC-Mtime, ../owncloud.ts). */
export const getlastmodified: LiveProperty = {
  name: dav('getlastmodified'),
  inAllprop: true,
  protected: true,
  get: async (r) => [(await modifiedOf(r)).toUTCString()],
};

export const creationdate: LiveProperty = {
  name: dav('creationdate'),
  inAllprop: true,
  protected: true,
  get: (r) => (r.entry.created ? [r.entry.created.toISOString().replace(/\.\d{3}Z$/, 'Z')] : null),
};

/** Not protected: a value set by PROPPATCH is stored as a dead property and wins over this default. */
export const displayname: LiveProperty = {
  name: dav('displayname'),
  inAllprop: true,
  protected: false,
  get: (r) => (r.path === '/' ? null : [shownName(r.entry)]),
};

/** A resource's default display name: its last segment, with `(deleted)` for a path history keeps but the live tree lost. */
export function shownName(entry: Entry): string {
  return entry.deleted ? `${baseName(entry.path)} (deleted)` : baseName(entry.path);
}

/** When a path history keeps was deleted from the live tree (history's versions/ shows gone paths too). */
export const deletedAt: LiveProperty = {
  name: gitdav('deleted'),
  inAllprop: true,
  protected: true,
  appliesTo: (r) => r.entry.deleted !== undefined,
  get: (r) => (r.entry.deleted ? [r.entry.deleted.toISOString().replace(/\.\d{3}Z$/, 'Z')] : null),
};

export const lockdiscovery: LiveProperty = {
  name: dav('lockdiscovery'),
  inAllprop: true,
  protected: true,
  get: (r) =>
    r.req.dav.locks.covering(r.path).map((l) => activeLock(r.req, l, l.root === r.path ? r.isCollection : true)),
};

export const supportedlock: LiveProperty = {
  name: dav('supportedlock'),
  inAllprop: true,
  protected: true,
  get: () =>
    (['exclusive', 'shared'] as const).map((scope) =>
      el(dav('lockentry'), el(dav('lockscope'), el(dav(scope))), el(dav('locktype'), el(dav('write')))),
    ),
};

export const supportedReportSet: LiveProperty = {
  name: dav('supported-report-set'),
  inAllprop: false,
  protected: true,
  get: async (r) =>
    (await r.req.dav.reports.supportedOn(r)).map((rep) => el(dav('supported-report'), el(dav('report'), el(rep.name)))),
};

// RFC 4331 does not require quota in allprop, but clients (npm webdav's getQuota) ask with allprop.
function quotaProperty(local: string, pick: (q: Quota) => number): LiveProperty {
  return {
    name: dav(local),
    inAllprop: true,
    protected: true,
    appliesTo: (r) => isCollection(r) && isQuotaAware(r.req.backend),
    get: async (r) => {
      const backend = r.req.backend;
      const q = isQuotaAware(backend) ? await backend.quota(r.path) : null;
      return q ? [String(pick(q))] : null;
    },
  };
}

export const quotaAvailableBytes = quotaProperty('quota-available-bytes', (q) => q.availableBytes);
export const quotaUsedBytes = quotaProperty('quota-used-bytes', (q) => q.usedBytes);

/** RFC 3253 version properties, where the backend keeps history (git): not in allprop. */
function versionProperty(local: string, value: (v: VersionInfo, r: Resource) => OutNode[]): LiveProperty {
  return {
    name: dav(local),
    inAllprop: false,
    protected: true,
    appliesTo: (r) => !r.isCollection && isVersioned(r.req.backend),
    get: async (r) => {
      const backend = r.req.backend;
      const v = isVersioned(backend) ? await backend.versionOf(r.path) : null;
      return v ? value(v, r) : null;
    },
  };
}

export const checkedIn = versionProperty('checked-in', (v, r) => [el(dav('href'), r.req.href(v.path, false))]);
export const versionName = versionProperty('version-name', (v) => [v.name]);
export const creatorDisplayname = versionProperty('creator-displayname', (v) => [v.creator]);

export const CORE_PROPERTIES: LiveProperty[] = [
  resourcetype,
  getcontentlength,
  getcontenttype,
  getetag,
  getlastmodified,
  creationdate,
  displayname,
  lockdiscovery,
  supportedlock,
  supportedReportSet,
  quotaAvailableBytes,
  quotaUsedBytes,
  checkedIn,
  versionName,
  creatorDisplayname,
  deletedAt,
];
