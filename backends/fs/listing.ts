/**
 * Listing a folder of the folder backend through a verified handle (Containment.open): the folder is
 * opened and checked once; names, member stats and its sidecar are then read through the handle
 * (/proc/self/fd/N/name), so renaming one of its ancestors meanwhile cannot redirect them into a
 * folder the client does not reach.
 */
import { constants as fsc, lstatSync, promises as fsp, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { joinPath, type Entry } from '../backend.js';
import { BackendError } from '../errors.js';
import type { Sidecar } from '../sidecar.js';
import { O_PATH, type Containment, type Opened } from './containment.js';
import { toEntry } from './fs-io.js';
import type { PropsStore } from './props-store.js';

export async function* listVerified(
  paths: Containment,
  props: PropsStore,
  path: string,
  hidden: (path: string) => boolean,
  /** Told each file listed, with its folder's sidecar as read through the handle. */
  remember: (file: Entry, sidecar: Sidecar) => void,
): AsyncGenerator<Entry> {
  const folder = await paths.open(path, O_PATH | fsc.O_DIRECTORY);
  if (!folder) throw new BackendError('NotFound', path);
  try {
    // The sidecar first: if it cannot be read, no directory handle is open yet to leak (the loop
    // below closes `dir` however it ends). opendir streams the names: a folder of 100k files
    // neither waits for nor holds the whole list.
    const sidecar = await props.read(folder.via, folder.real);
    const dir = await fsp.opendir(folder.via, { bufferSize: 256 });
    let batch: Dirent[] = [];
    async function* flush(): AsyncGenerator<Entry> {
      // Stat a batch at a time: enough parallelism to hide latency, bounded so libuv is not flooded.
      const entries = await Promise.all(batch.map((d) => entryOf(paths, folder!, joinPath(path, d.name), d)));
      batch = [];
      for (const e of entries) {
        if (!e) continue;
        if (e.kind === 'file') remember(e, sidecar);
        yield e;
      }
    }
    for await (const d of dir) {
      if (hidden(joinPath(path, d.name))) continue;
      batch.push(d);
      if (batch.length >= 64) yield* flush();
    }
    yield* flush();
  } finally {
    await folder.fh.close();
  }
}

/**
 * A listed member's entry, or null if it vanished, dangles, or is a link the policy does not follow
 * (out of the listed folder, into the state folder, or any under `refuse`). A plain member is
 * stat'ed synchronously: a stat of a name just read from its directory is a cached metadata lookup
 * (microseconds), while a thread-pool round trip per member made a 1,000-member PROPFIND spend more
 * time scheduling stats than doing them. Batches of 64 keep the event loop free.
 */
async function entryOf(paths: Containment, folder: Opened, path: string, d: Dirent): Promise<Entry | null> {
  const abs = join(folder.via, d.name);
  try {
    if (!d.isSymbolicLink()) {
      // lstat: a member that became a link since it was listed is not followed unchecked.
      const st = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
      return st && !st.isSymbolicLink() ? toEntry(path, st) : null;
    }
    const fh = await fsp.open(abs, O_PATH | fsc.O_NONBLOCK);
    try {
      return (await paths.insideOf(folder, fh)) ? toEntry(path, await fh.stat({ bigint: true })) : null;
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
}
