/**
 * `git gc --auto` now and then, off the request path, when native git is installed: it packs loose
 * objects so the repository stays fast for native git and for us. Nothing requires it; without git
 * on the PATH this does nothing.
 */
import { spawn } from 'node:child_process';

export class Maintenance {
  private commits = 0;
  private lastRun = Date.now();
  private running = false;
  private gitMissing = false;

  constructor(
    private readonly gitdir: string,
    private readonly everyCommits = 500,
    private readonly everyMs = 3600_000,
  ) {}

  /** Called after each commit; starts `git gc --auto` in the background when it is time. */
  afterCommit(): void {
    this.commits++;
    if (this.running || this.gitMissing) return;
    if (this.commits < this.everyCommits && Date.now() - this.lastRun < this.everyMs) return;
    this.commits = 0;
    this.lastRun = Date.now();
    this.running = true;
    // autoDetach=false: gc stays our child, so it can be waited for, never outlives a test or shutdown.
    const child = spawn('git', ['--git-dir', this.gitdir, '-c', 'gc.autoDetach=false', 'gc', '--auto', '--quiet'], { stdio: 'ignore' });
    child.on('error', () => (this.gitMissing = true)); // no git installed: never try again
    child.on('close', () => (this.running = false));
    child.unref();
  }
}
