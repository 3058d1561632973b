/**
 * Counts the git backend's look-up steps, for tests that pin how many a request makes (steps, not
 * time): ref reads, commit reads and tree walks. Unset (undefined) except in such tests, so the only
 * cost elsewhere is one `undefined` check per step.
 */
export interface GitProbe {
  /** A ref resolved from disk (Refs.read): the branch tip, read afresh on every look-up. */
  ref(name: string): void;
  /** A commit's fields read (ObjectStore.readCommit, cached or not). */
  commit(oid: string): void;
  /** A path looked up in a tree, segment by segment (TreeEditor.get). */
  walk(path: string): void;
  /** A path TreeEditor.get answered from its memo of paths already looked up in the same state: no walk. */
  memo?(path: string): void;
}

export let gitProbe: GitProbe | undefined;

/** Sets (or with undefined, clears) the probe; tests only. */
export function setGitProbe(probe: GitProbe | undefined): void {
  gitProbe = probe;
}
