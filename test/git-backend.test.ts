import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGitRepository } from '../backends/git/repository.js';
import { runBackendContract } from './contract/backend-contract.js';

runBackendContract({
  name: 'git',
  async create() {
    const root = await mkdtemp(join(tmpdir(), 'gitdav-git-'));
    const backend = await openGitRepository({ root });
    // Closed first: it commits the journal, so nothing writes into the folder while it is removed.
    return { backend, cleanup: async () => (await backend.close(), await rm(root, { recursive: true, force: true })) };
  },
});
