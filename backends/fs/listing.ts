/**
 * Listing a folder of the folder backend through a verified handle (Containment.open): the folder is
 * opened and checked once; names, member stats and its sidecar are then read through the handle
 * (/proc/self/fd/N/name), so renaming one of its ancestors meanwhile cannot redirect them into a
 * folder the client does not reach.
 *
 * Members are read and stat'ed a batch at a time, synchronously within a batch (bench/stat-floor.ts):
 * an lstat of a name just read from its directory is a cached metadata lookup of a few µs, while a
 * thread-pool round trip and a promise per member cost 3–4× that. One asynchronous directory read per
 * batch lets the event loop turn, so a folder of 100,000 members never blocks it for long.
 */
import { closeSync, constants as fsc, fstatSync, lstatSync, statfsSync, promises as fsp, type BigIntStats, type Dirent } from 'node:fs';
import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { joinPath, type Entry } from '../backend.js';
import { BackendError } from '../errors.js';
import { SIDECAR, type Sidecar } from '../sidecar.js';
import { O_PATH, type Containment, type Opened } from './containment.js';
import { toEntry } from './fs-io.js';
import type { PropsStore } from './props-store.js';

/** Members read and stat'ed between two turns of the event loop. */
const BATCH = 256;

/** A member as read: its lstat (null: gone since it was listed), or `link` for a symbolic link. */
interface Member {
  name: string;
  st: BigIntStats | null;
  link: boolean;
}

/**
 * A directory this big or smaller is read in one call, names only (the lstat that follows tells links
 * anyway): a third of what streaming it costs — but only on a file system where a directory's st_size
 * grows with the bytes of its names (WHOLE_FS), so it bounds how many names one call holds: ext2/3/4
 * spend at least 12 bytes a name (so at most ~87,000 names, ~30,000 typical ones), XFS more. Elsewhere
 * (ZFS gives the entry count, tmpfs 20 bytes a name, FUSE/CIFS 0 or 4096) every folder streams, so a
 * folder of 100,000 members is never held whole on any of them.
 */
const READ_WHOLE_BYTES = 1024 * 1024;

/** statfs f_type of the file systems whose directory sizes READ_WHOLE_BYTES may trust: ext2/3/4, XFS. */
const WHOLE_FS = new Set([0xef53, 0x58465342]);
/** Per device (st_dev): whether its directory sizes may be trusted (a folder below may be another mount). */
const wholeByDev = new Map<bigint, boolean>();

/** Whether a folder (via its handle's path; `st` its fstat) may be read in one call. */
function readWhole(via: string, st: BigIntStats): boolean {
  if (st.size > READ_WHOLE_BYTES) return false;
  let ok = wholeByDev.get(st.dev);
  if (ok === undefined) {
    try {
      ok = WHOLE_FS.has(statfsSync(via).type);
    } catch {
      ok = false;
    }
    if (wholeByDev.size < 256) wholeByDev.set(st.dev, ok);
  }
  return ok;
}

/** The names of the folder, a batch at a time. */
async function* names(via: string, whole: boolean): AsyncGenerator<string[]> {
  if (whole) {
    const all = await fsp.readdir(via);
    for (let i = 0; i < all.length; i += BATCH) yield all.slice(i, i + BATCH);
    return;
  }
  const dir = await fsp.opendir(via, { bufferSize: BATCH });
  try {
    for (;;) {
      // Asynchronous once per batch (it refills Dir's buffer): the event loop turns here.
      let d: Dirent | null = await dir.read();
      const out: string[] = [];
      for (; d; d = out.length < BATCH ? dir.readSync() : null) out.push(d.name);
      if (!out.length) return;
      yield out;
    }
  } finally {
    await dir.close().catch(() => undefined);
  }
}

/** The folder's visible members, a batch at a time, each with its lstat. */
async function* batches(via: string, whole: boolean, hidden: (name: string) => boolean): AsyncGenerator<Member[]> {
  let first = true;
  for await (const batch of names(via, whole)) {
    // Between two batches of a folder read whole, a turn of the event loop (streaming has its reads).
    if (!first && whole) await nextTurn();
    first = false;
    yield statted(via, batch.filter((name) => !hidden(name)));
  }
}

/** Each name with its lstat. */
function statted(via: string, batch: string[]): Member[] {
  const out: Member[] = [];
  for (const name of batch) {
    // lstat: a member that is (or became) a link is not followed unchecked.
    const st = lstatOrNull(via + '/' + name);
    out.push({ name, st, link: st !== null && st.isSymbolicLink() });
  }
  return out;
}

/** null when the member vanished or cannot be stat'ed (left out of the listing, as before). */
function lstatOrNull(file: string): BigIntStats | null {
  try {
    return lstatSync(file, { bigint: true, throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

export async function* listVerified(
  paths: Containment,
  props: PropsStore,
  path: string,
  hidden: (name: string) => boolean,
  /** Told each file listed, with its folder's sidecar as read through the handle. */
  remember: (file: Entry, sidecar: Sidecar) => void,
): AsyncGenerator<Entry> {
  const folder = await paths.open(path, O_PATH | fsc.O_DIRECTORY);
  if (!folder) throw new BackendError('NotFound', path);
  try {
    // The sidecar first: if it cannot be read, no directory handle is open yet to leak (names()
    // closes its own however the loop ends). A big folder streams: 100k files are never held.
    const sidecar = await props.read(folder.via, folder.real);
    const whole = readWhole(folder.via, fstatSync(folder.fh.fd, { bigint: true }));
    for await (const batch of batches(folder.via, whole, hidden)) {
      for (const m of batch) {
        const at = joinPath(path, m.name);
        const e = m.link ? await linkedEntry(paths, folder, at, m.name) : m.st ? toEntry(at, m.st) : null;
        if (!e) continue;
        if (e.kind === 'file') remember(e, sidecar);
        yield e;
      }
    }
  } finally {
    await folder.fh.close();
  }
}

/**
 * A symbolic link's entry, or null if it dangles or is a link the policy does not follow (out of the
 * listed folder, into the state folder, or any under `refuse`).
 */
async function linkedEntry(paths: Containment, folder: Opened, path: string, name: string): Promise<Entry | null> {
  try {
    const fh = await fsp.open(folder.via + '/' + name, O_PATH | fsc.O_NONBLOCK);
    try {
      return (await paths.insideOf(folder, fh)) ? toEntry(path, await fh.stat({ bigint: true })) : null;
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
}

/**
 * What a listing of this folder reports depends on nothing but: which visible names it holds, in which
 * order, each member's lstat (kind, inode, size, times: the entry and its ETag are made from them),
 * the sidecar (its dead properties, read by inode, size and mtime: props-store.ts), and for each
 * member folder its own sidecar (`sub/.davprops`: the folder's own dead properties, which a listing
 * reports for the member; rewritten in place it changes no stat of `sub`). This is a hash of all of
 * them, with the ctimes: a ctime cannot be set back, so a member changed and changed back (even in
 * place, with the same size, within one tick of the mtime) still gives another version. It costs one
 * pass of the listing's own stats, plus one lstat per member folder, without making entries.
 *
 * Names are hashed as the listing reports them (decoded as UTF-8; a name that is not valid UTF-8
 * decodes to U+FFFD, cannot be stat'ed by that name and is left out of the listing, as on main): two
 * names that decode alike give the same listing, so hashing the decoded form is exact.
 *
 * null (no version: don't cache) for a folder holding a symbolic link (what it leads to is not in the
 * hash), for one with more than `maxMembers` members (counted from the names before any member is
 * stat'ed, whatever the file system says the directory's size is), or one that is not there.
 */
export async function listingVersionOf(
  paths: Containment,
  path: string,
  hidden: (name: string) => boolean,
  maxMembers: number,
  /** Told each member's entry, made from the very stat the version hashes. */
  collect?: (entry: Entry) => void,
  /** Called once the sidecar's lstat is taken (what it then reads is at least as new as the hash). */
  afterSidecar?: (folder: FolderHandle) => Promise<void>,
): Promise<string | null> {
  const folder = await openFolder(paths, path);
  if (!folder) return null;
  try {
    const self = fstatSync(folder.fd, { bigint: true });
    if (!self.isDirectory()) return null;
    // The names first (at most maxMembers of them are held): a folder with more is refused before a
    // single member is stat'ed.
    const visible: string[] = [];
    for await (const batch of names(folder.via, readWhole(folder.via, self))) {
      for (const name of batch) if (!hidden(name)) visible.push(name);
      if (visible.length > maxMembers) return null;
    }
    const sidecar = lstatSync(folder.via + '/' + SIDECAR, { bigint: true, throwIfNoEntry: false });
    // Two streams, hashed apart and joined at the end: the names, each followed by \0 (names hold
    // neither \0 nor /), and the stats as 64-bit slots — per member a print (a 2, then seven fields)
    // or a 1 for a member gone since it was listed, then for a folder its sidecar's print or a 0.
    // Each decodes one way given the other (markers and fixed-size prints), so the pair is exact. The
    // stats go into a BigInt64Array by plain stores: no Buffer write and no BigInt made per field.
    const nameHash = createHash('sha256').update(path + '\0');
    const statHash = createHash('sha256');
    const nameBuf = Buffer.allocUnsafe(NAME_BUFFER);
    const slots = new BigInt64Array(BATCH * 2 * PRINT_SLOTS + 2 * PRINT_SLOTS);
    let at = 0;
    let slot = print(slots, 0, self);
    slot = sidecar ? print(slots, slot, sidecar) : ((slots[slot] = 0n), slot + 1);
    await afterSidecar?.(folder);
    for (let i = 0; i < visible.length; i++) {
      if (i > 0 && i % BATCH === 0) {
        statHash.update(slots.subarray(0, slot));
        slot = 0;
        await nextTurn(); // the event loop turns between batches
      }
      const name = visible[i]!;
      // lstat: a member that is (or became) a link is not followed unchecked.
      const st = lstatOrNull(folder.via + '/' + name);
      if (st?.isSymbolicLink()) return null;
      // Room for the name (UTF-8: at most 3 bytes a UTF-16 unit; one decoded from invalid UTF-8
      // may be longer than NAME_MAX) and its \0, or the names so far go into the hash first.
      if (at + 3 * name.length + 1 > nameBuf.length) {
        nameHash.update(nameBuf.subarray(0, at));
        at = 0;
      }
      at += nameBuf.write(name, at);
      nameBuf[at++] = 0;
      if (!st) {
        slots[slot++] = 1n;
        continue;
      }
      slot = print(slots, slot, st);
      if (st.isDirectory()) {
        const own = lstatOrNull(folder.via + '/' + name + '/' + SIDECAR);
        slot = own ? print(slots, slot, own) : ((slots[slot] = 0n), slot + 1);
      }
      collect?.(toEntry(joinPath(path, name), st));
    }
    statHash.update(slots.subarray(0, slot));
    return `fs:${nameHash.update(nameBuf.subarray(0, at)).update(statHash.digest()).digest('base64')}`;
  } finally {
    await folder.close();
  }
}

/** A verified folder handle: its descriptor, `/proc/self/fd/N` and where it is. */
interface FolderHandle {
  fd: number;
  via: string;
  real: string;
  close(): Promise<void>;
}

/**
 * The folder opened (O_PATH) and verified at once, without the thread pool (Containment.openFast: an
 * open and a readlink of the handle), where that decides; otherwise through Containment.open.
 * Not a folder: the caller's fstat says so.
 */
async function openFolder(paths: Containment, path: string): Promise<FolderHandle | null> {
  const fast = paths.openFast(path);
  if (fast) return { fd: fast.fd, via: `/proc/self/fd/${fast.fd}`, real: fast.real, close: async () => closeSync(fast.fd) };
  const opened = await paths.open(path, O_PATH | fsc.O_DIRECTORY).catch(() => null);
  return opened && { fd: opened.fh.fd, via: opened.via, real: opened.real, close: () => opened.fh.close() };
}

/** Slots print() fills: a marker and seven 64-bit fields. */
const PRINT_SLOTS = 8;
/** The names' staging buffer (flushed into their hash when the next name might not fit). */
const NAME_BUFFER = 64 * 1024;

/** The fields of a stat a listing reports from (and ctime), at `at` in `slots`; returns the end. */
function print(slots: BigInt64Array, at: number, st: BigIntStats): number {
  slots[at] = 2n;
  slots[at + 1] = st.mode;
  slots[at + 2] = st.dev;
  slots[at + 3] = st.ino;
  slots[at + 4] = st.size;
  slots[at + 5] = st.mtimeNs;
  slots[at + 6] = st.ctimeNs;
  slots[at + 7] = st.birthtimeNs;
  return at + PRINT_SLOTS;
}

/**
 * The members (files and folders) and the listing version of the one pass that read them: the
 * entries are exactly what a listing at that version reports (made from the same stats), so a
 * caller may keep them under the version. Each file is told to `remember` with its folder's sidecar,
 * read after the sidecar's lstat was hashed: its content is at least as new as the version says, so
 * what is made from it is never older than the version (a newer sidecar has another version, which
 * no later request computes before the change). null where listingVersionOf gives none.
 */
export async function listVersionedOf(
  paths: Containment,
  props: PropsStore,
  path: string,
  hidden: (name: string) => boolean,
  maxMembers: number,
  remember: (file: Entry, sidecar: Sidecar) => void,
): Promise<{ entries: Entry[]; version: string } | null> {
  const entries: Entry[] = [];
  let sidecar: Sidecar = {};
  const version = await listingVersionOf(
    paths,
    path,
    hidden,
    maxMembers,
    (e) => {
      if (e.kind === 'file') remember(e, sidecar);
      entries.push(e);
    },
    async (folder) => void (sidecar = await props.read(folder.via, folder.real)),
  );
  return version === null ? null : { entries, version };
}

