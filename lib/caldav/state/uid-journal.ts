/**
 * The folder backend's UID journal, one per calendar (`<stateDir>/caldav-uids/<calendar hash>.log`):
 * one line `[etag, member, uid]` per calendar object this server stored there, appended by whichever
 * process stored it, after the write and while it still holds the UID's lock (../uid-index.ts). Each
 * process's index of the calendar follows it from where it last read, so a UID stored by another
 * process (a supervisor's other worker) is in the index before anyone may decide on that UID again.
 *
 * Lines are appended with O_APPEND in one write (a reader takes complete lines only) and never
 * fsynced: after a crash every process starts without an index and builds it from the calendar. Each
 * file begins with a random generation (HEADER_BYTES: `#` and 32 hex digits), by which a reader knows
 * it is still the file it read (an inode number is not enough: once a replaced file is gone, the
 * file system may give its number to the next one). Past MAX_BYTES a writer replaces the file by a
 * new generation: readers see another generation and rebuild from the calendar once, as they do
 * after an unreadable line. A writer whose line went into a file replaced meanwhile removes the
 * journal (every process rebuilds).
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { join } from 'node:path';

const MAX_BYTES = 1024 * 1024;
const HEADER_BYTES = 34;

/** Where a reader is: the file (its generation) and the offset of the next line. */
export interface JournalPos {
  gen: string;
  offset: number;
}

export type JournalLine = [etag: string, member: string, uid: string];

/** The journal of the calendar at `calendar` (its path in the tree) of the tree with this state dir. */
export function journalFile(stateDir: string, calendar: string): string {
  return join(stateDir, 'caldav-uids', `${createHash('sha1').update(calendar).digest('hex')}.log`);
}

/** The journal's end now (made, empty, if there is none): where an index built from the calendar now starts reading. */
export async function journalEnd(file: string): Promise<JournalPos> {
  await fsp.mkdir(join(file, '..'), { recursive: true });
  for (;;) {
    const fh = await fsp.open(file, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (!fh) {
      await newGeneration(file, false);
      continue;
    }
    try {
      const gen = await generationOf(fh);
      if (gen !== null) return { gen, offset: (await fh.stat()).size };
    } finally {
      await fh.close();
    }
    await newGeneration(file, true); // no generation (written by an older gitdav): start one
  }
}

/**
 * The lines after `pos`, and the position after them; null if the journal is not the file `pos`
 * was in (replaced, removed) or holds a line that is not one: the reader must rebuild.
 */
export async function readJournal(file: string, pos: JournalPos): Promise<{ lines: JournalLine[]; pos: JournalPos } | null> {
  const fh = await fsp.open(file, 'r').catch(() => null);
  if (!fh) return null;
  try {
    if ((await generationOf(fh)) !== pos.gen) return null;
    const st = await fh.stat();
    if (st.size < pos.offset) return null;
    if (st.size === pos.offset) return { lines: [], pos };
    const buf = Buffer.alloc(st.size - pos.offset);
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos.offset);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    const end = text.lastIndexOf('\n') + 1; // a line still being written is read next time
    const lines: JournalLine[] = [];
    for (const line of text.slice(0, end).split('\n')) {
      if (line === '') continue;
      const parsed = parseLine(line);
      if (!parsed) return null;
      lines.push(parsed);
    }
    return { lines, pos: { gen: pos.gen, offset: pos.offset + Buffer.byteLength(text.slice(0, end)) } };
  } finally {
    await fh.close();
  }
}

/** Appends one line (one write, O_APPEND); starts a new generation once this one has grown past MAX_BYTES. */
export async function appendJournal(file: string, line: JournalLine): Promise<void> {
  await fsp.mkdir(join(file, '..'), { recursive: true });
  let fh;
  for (;;) {
    // Never created here without its generation: a missing journal is made whole first.
    fh = await fsp.open(file, constants.O_WRONLY | constants.O_APPEND).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (fh) break;
    await newGeneration(file, false);
  }
  try {
    await fh.write(JSON.stringify(line) + '\n');
    const [mine, named] = await Promise.all([fh.stat(), fsp.stat(file).catch(() => null)]);
    // Replaced between our open and our write: the line is in the old file, which readers left.
    if (named?.ino !== mine.ino) throw Object.assign(new Error('the UID journal was replaced while a line was appended'), { code: 'ESTALE' });
    if (mine.size > MAX_BYTES) await newGeneration(file, true);
  } finally {
    await fh.close();
  }
}

/** Makes a journal with a fresh generation: replacing the file there (`replace`), or only where there is none. */
async function newGeneration(file: string, replace: boolean): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fsp.writeFile(tmp, `#${randomBytes(16).toString('hex')}\n`);
  try {
    if (replace) await fsp.rename(tmp, file);
    else await fsp.link(tmp, file).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') return; // another process made it first: use theirs
      // A file system without hard links (vfat, some FUSE and SMB mounts): created exclusively with its
      // header instead; a reader that meets it half written sees no generation and rebuilds once.
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(err.code ?? '')) throw err;
      await fsp.writeFile(file, await fsp.readFile(tmp), { flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
    });
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

/** The file's generation, or null if it does not begin with one. */
async function generationOf(fh: fsp.FileHandle): Promise<string | null> {
  const buf = Buffer.alloc(HEADER_BYTES);
  const { bytesRead } = await fh.read(buf, 0, HEADER_BYTES, 0);
  const text = buf.subarray(0, bytesRead).toString('latin1');
  return /^#[0-9a-f]{32}\n$/.test(text) ? text.slice(1, 33) : null;
}
function parseLine(line: string): JournalLine | null {
  try {
    const v: unknown = JSON.parse(line);
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'string')) return v as JournalLine;
  } catch {
    // not a line: rebuild
  }
  return null;
}
