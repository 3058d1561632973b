/**
 * The dead-property sidecar both backends keep in each folder (`.davprops`): JSON mapping a member's
 * name (or `.` for the folder itself) to its properties (Clark name → self-contained XML). Pure;
 * serialised canonically (sorted keys) so equal content gives equal bytes, and so equal git blobs.
 */
import type { PropPatch, PropertyMap } from './backend.js';

export const SIDECAR = '.davprops';
export const SELF = '.';

export type Sidecar = Record<string, Record<string, string>>;

export function parseSidecar(text: string): Sidecar {
  const parsed: unknown = JSON.parse(text);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
  return parsed as Sidecar;
}

export function serializeSidecar(sidecar: Sidecar): string {
  const sorted: Sidecar = {};
  for (const key of Object.keys(sidecar).sort()) {
    const props = sidecar[key]!;
    const inner: Record<string, string> = {};
    for (const name of Object.keys(props).sort()) inner[name] = props[name]!;
    if (Object.keys(inner).length) sorted[key] = inner;
  }
  return JSON.stringify(sorted, null, 1) + '\n';
}

export function propsOf(sidecar: Sidecar, key: string): PropertyMap {
  // Most members have none: an empty map without entries of an empty object (a listing of 100,000).
  const own = sidecar[key];
  return own ? new Map(Object.entries(own)) : new Map();
}

/** A copy of the sidecar with `key`'s properties replaced (an empty map removes the key). */
export function withProps(sidecar: Sidecar, key: string, props: PropertyMap): Sidecar {
  const next = { ...sidecar };
  if (props.size === 0) delete next[key];
  else next[key] = Object.fromEntries(props);
  return next;
}

export function applyPatches(props: PropertyMap, patches: PropPatch[]): PropertyMap {
  const next = new Map(props);
  for (const p of patches) {
    if (p.op === 'set') next.set(p.name, p.value);
    else next.delete(p.name);
  }
  return next;
}
