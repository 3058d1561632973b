import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitBackend } from '../backends/git/index.js';
import { runBackendContract } from './contract/backend-contract.js';

runBackendContract({
  name: 'git',
  async create() {
    const root = await mkdtemp(join(tmpdir(), 'gitdav-git-'));
    return { backend: await GitBackend.open({ root }), cleanup: () => rm(root, { recursive: true, force: true }) };
  },
});
