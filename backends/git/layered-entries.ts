/**
 * A big folder's members, edited copy-on-write without copying them: an immutable base map and a small
 * delta of the names changed since (null: removed). Forking copies the delta only, so each write into
 * a folder of 100,000 members (the journal writer's editor, then the live state's) costs O(changes),
 * not a copy of 100,000 entries; the delta is folded into a new base once it grows past FOLD_AT.
 * Iterates in the base's order (a changed member in its place), new names after.
 */
/** Folders from this many members are edited as layers (a smaller one is copied: cheaper to read). */
export const LAYER_FROM = 4096;
const FOLD_AT = 2048;

export class LayeredEntries<Slot> implements ReadonlyMap<string, Slot> {
  private count: number;

  private constructor(
    private readonly base: ReadonlyMap<string, Slot>,
    private readonly delta: Map<string, Slot | null>,
    count?: number,
  ) {
    this.count = count ?? base.size;
  }

  /** A copy to edit: the other one's delta copied, its base shared (never changed by anyone). */
  static fork<Slot>(from: ReadonlyMap<string, Slot>): LayeredEntries<Slot> {
    if (!(from instanceof LayeredEntries)) return new LayeredEntries<Slot>(from, new Map());
    const layered = from as LayeredEntries<Slot>;
    if (layered.delta.size >= FOLD_AT) return new LayeredEntries<Slot>(new Map(layered), new Map());
    return new LayeredEntries<Slot>(layered.base, new Map(layered.delta), layered.count);
  }

  get size(): number {
    return this.count;
  }

  get(name: string): Slot | undefined {
    const d = this.delta.get(name);
    if (d !== undefined) return d ?? undefined;
    return this.base.get(name);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(name: string, slot: Slot): this {
    if (!this.has(name)) this.count++;
    this.delta.set(name, slot);
    return this;
  }

  delete(name: string): boolean {
    if (!this.has(name)) return false;
    this.count--;
    this.delta.set(name, null);
    return true;
  }

  *entries(): MapIterator<[string, Slot]> {
    for (const [name, slot] of this.base) {
      const d = this.delta.get(name);
      if (d === undefined) yield [name, slot];
      else if (d !== null) yield [name, d];
    }
    for (const [name, d] of this.delta) if (d !== null && !this.base.has(name)) yield [name, d];
  }

  [Symbol.iterator](): MapIterator<[string, Slot]> {
    return this.entries();
  }

  *keys(): MapIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): MapIterator<Slot> {
    for (const [, slot] of this.entries()) yield slot;
  }

  forEach(fn: (value: Slot, key: string, map: ReadonlyMap<string, Slot>) => void): void {
    for (const [name, slot] of this.entries()) fn(slot, name, this);
  }
}
