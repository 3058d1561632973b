/**
 * The committer's side of inline objects (./record.ts InlineObject): small blobs a PUT wrote without
 * fsync, whose bytes its record carries. Before a commit refers to them they are made durable — the
 * file fsynced, or written again from the record when a crash of the machine lost it — so a commit
 * never names an object that a power cut could take away.
 */
import { promises as fsp } from 'node:fs';
import type { ObjectStore } from '../objects.js';
import { decodeHeader, decodeRecords, framesLength, HEADER_BYTES } from './format.js';

/** Files settled at once: the thread pool (4 threads) stays open to requests while a big burst commits. */
const PARALLEL = 2;

/**
 * The inline objects of the records numbered `from`..`to` (the journal file read afresh with them
 * kept: readers drop them on decode). Records the file no longer holds contribute nothing.
 */
export async function inlineObjects(file: string, from: number, to: number): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const bytes = await fsp.readFile(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  const header = bytes && decodeHeader(bytes.subarray(0, HEADER_BYTES));
  if (!bytes || !header || header.firstSeq > to) return out;
  // Records are numbered from the header's seq on: the frames before `from` are skipped unparsed, and
  // those after `to` (an open burst) are not read, so a commit parses its own burst's records only.
  const first = Math.max(from, header.firstSeq);
  const frames = bytes.subarray(HEADER_BYTES);
  const start = framesLength(frames, first - header.firstSeq);
  const rest = frames.subarray(start);
  for (const record of decodeRecords(rest.subarray(0, framesLength(rest, to - first + 1)), first, true).records) {
    for (const o of record.inline ?? []) out.set(o.oid, Buffer.from(o.z, 'base64'));
  }
  return out;
}

/** Makes every inline object of records `from`..`to` durable (ObjectStore.settle); returns how many had to be written again. */
export async function settleInline(store: ObjectStore, file: string, from: number, to: number): Promise<number> {
  const pending = [...(await inlineObjects(file, from, to))];
  let rewritten = 0;
  const worker = async () => {
    for (let next = pending.pop(); next; next = pending.pop()) {
      if ((await store.settle(next[0], next[1])) === 'rewritten') rewritten++;
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return rewritten;
}
