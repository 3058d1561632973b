import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGitRepository } from '../backends/git/repository.js';
import { runBackendContract } from './contract/backend-contract.js';

runBackendContract({
  name: 'git',
  async create() {
    const root = await mkdtemp(join(tmpdir(), 'gitdav-git-'));
    return { backend: await openGitRepository({ root }), cleanup: () => rm(root, { recursive: true, force: true }) };
  },
});
