/**
 * A new root opened by several processes at once (a supervisor's workers on their first start, or a
 * new user's first requests reaching two workers): every one gets the one repository they made
 * together, none is told the folder "is not empty and not a git repository".
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import git from 'isomorphic-git';
import { findOrInitRepository } from '../backends/git/gitdir.js';

const run = promisify(execFile);
const GITDIR = pathToFileURL(resolve('dist/backends/git/gitdir.js')).href;

describe('a new git repository opened by several openers at once', function () {
  this.timeout(60_000);
  let tmp: string;
  beforeEach(async () => (tmp = await mkdtemp(join(tmpdir(), 'gitdav-init-race-'))));
  afterEach(() => rm(tmp, { recursive: true, force: true }));

  it('in one process: 8 openers of one new root all get it, and it is a valid bare repository (20 rounds)', async () => {
    for (let round = 0; round < 20; round++) {
      const root = join(tmp, `r${round}`);
      // Started a little apart, so that some look while another is half way through making it.
      const got = await Promise.all(Array.from({ length: 8 }, (_, k) => new Promise((r) => setTimeout(r, k % 4)).then(() => findOrInitRepository(root))));
      assert.deepEqual(new Set(got), new Set([root]));
      assert.equal((await run('git', ['--git-dir', root, 'symbolic-ref', 'HEAD'])).stdout.trim(), 'refs/heads/main');
    }
  });

  it('in 4 processes at once: each gets the repository (5 rounds)', async () => {
    const code = `import { findOrInitRepository } from ${JSON.stringify(GITDIR)}; process.stdout.write(await findOrInitRepository(process.argv[1]));`;
    for (let round = 0; round < 5; round++) {
      const root = join(tmp, `p${round}`);
      const outs = await Promise.all(Array.from({ length: 4 }, () => run(process.execPath, ['--input-type=module', '-e', code, root])));
      for (const o of outs) assert.equal(o.stdout, root);
      await run('git', ['--git-dir', root, 'fsck', '--strict', '--no-progress']); // rejects on a broken repository
    }
  });

  it('makes what isomorphic-git\'s init made: the same folders, config and HEAD, byte for byte', async () => {
    const ours = join(tmp, 'ours');
    const theirs = join(tmp, 'theirs');
    assert.equal(await findOrInitRepository(ours), ours);
    await git.init({ fs, gitdir: theirs, bare: true, defaultBranch: 'main' });
    const tree = async (root: string) => (await readdir(root, { recursive: true, withFileTypes: true })).map((d) => `${join(d.parentPath ?? d.path, d.name).slice(root.length)}${d.isDirectory() ? '/' : ''}`).sort();
    assert.deepEqual(await tree(ours), await tree(theirs));
    for (const file of ['config', 'HEAD']) assert.equal(await readFile(join(ours, file), 'utf8'), await readFile(join(theirs, file), 'utf8'));
    await run('git', ['--git-dir', ours, 'fsck', '--strict', '--no-progress']);
  });

  describe('a root whose maker crashed half way opens, and is completed (as if made at once)', () => {
    const made = async (root: string) => {
      for (const dir of ['hooks', 'info', 'objects/info', 'objects/pack', 'refs/heads', 'refs/tags']) await mkdir(join(root, dir), { recursive: true });
    };
    const expectWhole = async (root: string) => {
      const whole = join(tmp, 'whole');
      await findOrInitRepository(whole);
      for (const file of ['config', 'HEAD']) assert.equal(await readFile(join(root, file), 'utf8'), await readFile(join(whole, file), 'utf8'));
      assert.deepEqual(await readdir(join(root, 'info')), []);
      await run('git', ['--git-dir', root, 'fsck', '--strict', '--no-progress']);
    };

    it('crashed after config, before HEAD: the next opener writes HEAD', async () => {
      const root = join(tmp, 'no-head');
      await findOrInitRepository(join(tmp, 'model'));
      await made(root);
      await writeFile(join(root, 'config'), await readFile(join(tmp, 'model', 'config')));
      assert.equal(await findOrInitRepository(root), root);
      await expectWhole(root);
    });

    it('crashed while writing config in place (an earlier gitdav): the next opener writes it whole, and HEAD', async () => {
      for (const length of [0, 1, 30]) {
        const root = join(tmp, `half-config-${length}`);
        await findOrInitRepository(join(tmp, 'model'));
        await made(root);
        await writeFile(join(root, 'config'), (await readFile(join(tmp, 'model', 'config'))).subarray(0, length));
        assert.equal(await findOrInitRepository(root), root);
        await expectWhole(root);
      }
    });

    it('crashed with a temp file in info/: an old one is removed when the repository opens, a fresh one is left', async () => {
      const root = join(tmp, 'temps');
      await made(root);
      await writeFile(join(root, 'info', 'HEAD.4242.0a1b2c.tmp'), 'ref: ref');
      await writeFile(join(root, 'info', 'config.4242.0a1b2c.tmp'), '[co');
      const old = new Date(Date.now() - 2 * 3600_000);
      await utimes(join(root, 'info', 'HEAD.4242.0a1b2c.tmp'), old, old);
      assert.equal(await findOrInitRepository(root), root);
      assert.deepEqual(await readdir(join(root, 'info')), ['config.4242.0a1b2c.tmp']);
      await utimes(join(root, 'info', 'config.4242.0a1b2c.tmp'), old, old);
      assert.equal(await findOrInitRepository(root), root); // an existing repository: cleaned on open too
      await expectWhole(root);
    });
  });

  it('a folder holding anything else is still refused', async () => {
    const root = join(tmp, 'mine');
    await run('mkdir', [root]);
    await writeFile(join(root, 'notes.txt'), 'mine');
    await assert.rejects(findOrInitRepository(root), /is not empty and not a git repository/);
  });
});
