/** The journal file's low-level I/O (./journal.ts): a stat that says null for a missing file, positional reads and writes. */
import { statSync, writeSync, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export function statOrNull(file: string): Stats | null {
  try {
    return statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function readAt(fd: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fd.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break; // cut short meanwhile: decode what there is
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** Up to 256 KiB synchronously: into the page cache in µs, where a trip through the thread pool costs more (the fdatasync stays async). */
export async function writeAt(fd: FileHandle, bytes: Buffer, position: number): Promise<void> {
  for (let done = 0, n = bytes.length; done < n; ) {
    done += n <= 256 * 1024 ? writeSync(fd.fd, bytes, done, n - done, position + done) : (await fd.write(bytes, done, n - done, position + done)).bytesWritten;
  }
}
