/**
 * A read-only look into a repository a server may be serving at the same time (the CLI's checks):
 * no lock cleared, no journal replayed, nothing written. It sees the branch tip, so a change of the
 * last moments that is still in the server's write journal is not seen yet.
 */
import { ObjectStore } from './objects.js';
import { Refs } from './refs.js';
import { defaultBranch } from './gitdir.js';

/** What the branch tip holds at `path` (`/calendars/bob/work`), or null. */
export async function committedKind(gitdir: string, path: string): Promise<'file' | 'collection' | null> {
  const refs = new Refs(gitdir);
  const store = new ObjectStore(gitdir);
  try {
    const commit = await refs.read(`refs/heads/${await defaultBranch(refs)}`, 0, true);
    if (!commit) return null;
    let tree = (await store.readCommit(commit)).tree;
    const names = path.split('/').filter(Boolean);
    for (const [i, name] of names.entries()) {
      const entry = (await store.readTree(tree)).find((e) => e.name === name);
      if (!entry) return null;
      const isTree = entry.mode === '40000';
      if (i === names.length - 1) return isTree ? 'collection' : 'file';
      if (!isTree) return null;
      tree = entry.oid;
    }
    return 'collection';
  } finally {
    await store.packs.close();
    refs.close();
  }
}
