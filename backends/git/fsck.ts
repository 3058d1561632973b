/**
 * `gitdav fsck`: reads every object reachable from the branches and tags, checks that it inflates
 * and hashes to its id, and names each broken one with a place it is used (commit:path). Trees also
 * get `git fsck --strict`'s entry checks (./fsck-tree.ts: `hasDotgit`, bad modes, duplicates, ...),
 * reported with fsck's message ids. Native `git fsck --strict` checks more (object syntax, connectivity
 * of unreachable objects); this one needs no git installed and says which file a problem belongs to.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { createInflate } from 'node:zlib';
import { ObjectStore, tagTarget } from './objects.js';
import { Refs } from './refs.js';
import { treeProblems } from './fsck-tree.js';

export interface FsckProblem {
  oid: string;
  /** Where it is used: `refs/heads/main`, or `<commit>:<path>`. */
  where: string;
  message: string;
}

export interface FsckReport {
  objects: number;
  problems: FsckProblem[];
}

export async function fsck(gitdir: string): Promise<FsckReport> {
  const store = new ObjectStore(gitdir);
  const refs = new Refs(gitdir);
  const seen = new Set<string>();
  const problems: FsckProblem[] = [];
  const check = async (oid: string, where: string): Promise<boolean> => {
    if (seen.has(oid)) return true;
    seen.add(oid);
    const message = await verify(store, oid);
    if (message) problems.push({ oid, where, message });
    return !message;
  };

  const starts = new Map<string, string>();
  for (const prefix of ['refs/heads/', 'refs/tags/']) for (const [name, oid] of await refs.list(prefix)) starts.set(oid, name);
  const commits = [...starts];
  while (commits.length) {
    const [oid, where] = commits.pop()!;
    if (seen.has(oid)) continue;
    if (!(await check(oid, where))) continue;
    let info;
    try {
      const { type, content } = await store.readRaw(oid);
      if (type === 'tag') {
        const target = tagTarget(content);
        if (target) commits.push([target, where]);
        continue;
      }
      if (type !== 'commit') continue;
      info = await store.readCommit(oid);
    } catch (err) {
      problems.push({ oid, where, message: (err as Error).message });
      continue;
    }
    for (const p of info.parents) commits.push([p, `${oid.slice(0, 12)}^`]);
    await walkTree(info.tree, `${oid.slice(0, 12)}:`);
  }
  return { objects: seen.size, problems };

  async function walkTree(tree: string, where: string): Promise<void> {
    if (seen.has(tree)) return;
    if (!(await check(tree, where || '/'))) return;
    let entries;
    try {
      for (const p of treeProblems((await store.readRaw(tree)).content)) problems.push({ oid: tree, where: where || '/', message: `${p.id}: ${p.message}` });
      entries = await store.readTree(tree);
    } catch (err) {
      problems.push({ oid: tree, where, message: (err as Error).message });
      return;
    }
    for (const e of entries) {
      const path = `${where}${where.endsWith(':') ? '' : '/'}${e.name}`;
      if (e.mode === '40000') await walkTree(e.oid, path);
      else if (e.mode !== '160000') await check(e.oid, path);
    }
  }
}

/** Null when the object is sound, else what is wrong with it. */
async function verify(store: ObjectStore, oid: string): Promise<string | null> {
  const loose = join(store.gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
  try {
    await fsp.access(loose);
  } catch {
    try {
      // Packed: read it whole and check that it hashes to its id.
      const { type, content } = await store.readRaw(oid);
      const actual = createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
      return actual === oid ? null : `corrupt packed object: its content hashes to ${actual}`;
    } catch (err) {
      return `missing or unreadable: ${(err as Error).message}`;
    }
  }
  const hash = createHash('sha1');
  try {
    await new Promise<void>((resolve, reject) => {
      const inflate = createInflate();
      fs.createReadStream(loose).on('error', reject).pipe(inflate).on('error', reject);
      inflate.on('data', (c: Buffer) => hash.update(c));
      inflate.on('end', resolve);
    });
  } catch (err) {
    return `corrupt loose object: ${(err as Error).message}`;
  }
  const actual = hash.digest('hex');
  return actual === oid ? null : `corrupt loose object: its content hashes to ${actual}`;
}
