/**
 * The folder backend's UID journal, one per calendar (`<stateDir>/caldav-uids/<calendar hash>.log`):
 * one line `[etag, member, uid]` per calendar object this server stored there, appended by whichever
 * process stored it, after the write and while it still holds the UID's lock (../uid-index.ts). Each
 * process's index of the calendar follows it from where it last read, so a UID stored by another
 * process (a supervisor's other worker) is in the index before anyone may decide on that UID again.
 *
 * Lines are appended with O_APPEND in one write (a reader takes complete lines only) and never
 * fsynced: after a crash every process starts without an index and builds it from the calendar. Past
 * MAX_BYTES a writer replaces the file by an empty one (a new inode): readers see another inode and
 * rebuild from the calendar once, as they do after an unreadable line.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

const MAX_BYTES = 1024 * 1024;

/** Where a reader is: the file (inode) and the offset of the next line. */
export interface JournalPos {
  ino: number;
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
  await fsp.appendFile(file, '');
  const st = await fsp.stat(file);
  return { ino: st.ino, offset: st.size };
}

/**
 * The lines after `pos`, and the position after them; null if the journal is not the file `pos`
 * was in (replaced, removed) or holds a line that is not one: the reader must rebuild.
 */
export async function readJournal(file: string, pos: JournalPos): Promise<{ lines: JournalLine[]; pos: JournalPos } | null> {
  const fh = await fsp.open(file, 'r').catch(() => null);
  if (!fh) return null;
  try {
    const st = await fh.stat();
    if (st.ino !== pos.ino || st.size < pos.offset) return null;
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
    return { lines, pos: { ino: pos.ino, offset: pos.offset + Buffer.byteLength(text.slice(0, end)) } };
  } finally {
    await fh.close();
  }
}

/** Appends one line (one write, O_APPEND); starts a new file once this one has grown past MAX_BYTES. */
export async function appendJournal(file: string, line: JournalLine): Promise<void> {
  await fsp.mkdir(join(file, '..'), { recursive: true });
  await fsp.appendFile(file, JSON.stringify(line) + '\n');
  const st = await fsp.stat(file).catch(() => null);
  if (st && st.size > MAX_BYTES) {
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await fsp.writeFile(tmp, '');
    await fsp.rename(tmp, file).catch(() => fsp.rm(tmp, { force: true }));
  }
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
