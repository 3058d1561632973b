/**
 * Step counters for tests that must bound work without a clock: turns of the event loop while a
 * task runs, and the descriptors a process holds open on a file.
 */
import { readdir, readlink } from 'node:fs/promises';

/** Runs `task` and counts the turns of the event loop (setImmediate rounds) it allowed meanwhile. */
export async function turnsDuring<T>(task: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let counting = true;
  const tick = () => {
    turns++;
    if (counting) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return { value: await task(), turns };
  } finally {
    counting = false;
  }
}

/** Descriptors of this process open on `file` (an unlinked one shows as `file (deleted)`; O_PATH ones too). */
export async function openOn(file: string): Promise<number> {
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target === file || target === `${file} (deleted)`) n++;
  }
  return n;
}
