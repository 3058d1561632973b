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
}
