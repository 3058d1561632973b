/** How a git backend is opened (./index.ts GitBackend.open, ./repository.ts openGitRepository). */
export interface GitBackendOptions {
  /** A bare repository, a work tree with `.git`, or an empty/missing folder (a bare repo is made). */
  root: string;
  /** The branch served; default: HEAD's branch, `main` for a new repository. */
  branch?: string;
  /** Author when a request has no user. */
  author?: { name: string; email: string };
  /** Committer of every commit. */
  committer?: { name: string; email: string };
  /** Most requests folded into one commit (default 1000; 1 = a commit per request). */
  maxBatch?: number;
  /**
   * Names at the root kept for what is mounted there (./repository.ts mounts history at `.history`):
   * an entry of that name in the tree is never shown, and none can be made.
   */
  reserved?: readonly string[];
  /** A burst (one commit) closes after this long with no write from its user (default 2,000 ms; 0: a commit per write batch). */
  burstWindowMs?: number;
  /** A burst closes once its first write is this old (default 30,000 ms). */
  burstMaxAgeMs?: number;
  /** Junk patterns (gitignore syntax) stored beside the repository, never committed; default ./junk.ts. */
  ignore?: readonly string[];
}
