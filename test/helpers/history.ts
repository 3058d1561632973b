/** A git-backed test server that commits each write at once (burstWindowMs 0), for history tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGitRepository } from '../../backends/git/repository.js';
import { createApp, listen } from '../../lib/server.js';

export interface GitServed {
  url: string;
  /** The repository (a bare git dir). */
  root: string;
  close(): Promise<void>;
}

/** `historyListCap`: most members a history folder lists (default 10,000); tests of the cap set it low. */
export async function serveGitNow(options: { historyListCap?: number } = {}): Promise<GitServed> {
  const root = await mkdtemp(join(tmpdir(), 'gitdav-hist-'));
  const backend = await openGitRepository({ root, burstWindowMs: 0, ...options });
  const running = await listen(await createApp({ backend, caldav: false }), '127.0.0.1', 0);
  return {
    url: running.url,
    root,
    async close() {
      await running.close(1000);
      await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}
