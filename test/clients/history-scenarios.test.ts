/**
 * Issue 14's "Done when", replayed with the real clients against `gitdav serve --backend git` (the
 * command line as a user starts it, a short burst window): what the history looks like after
 *   - `cp -r` of 200 files onto a davfs2 mount: a handful of commits, each with one clear message;
 *   - `rm -r` of a 25-file folder on the mount: one commit, `Delete … (25 files)`;
 *   - `sed -i` on a file on the mount: one commit, whose `git log --stat` names that file only (no
 *     sed temp file);
 *   - `rclone copy` of a folder (parallel uploads): a handful of commits.
 * Commits come a burst window after the last write: each scenario waits (polls, bounded by steps)
 * until the outcome is in main's tree and the commit count has stopped changing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { killCliProcesses, runCli, type CliProcess } from '../helpers/cli.js';
import { requireTool, tool } from '../helpers/tools.js';
import { mountDavfs } from '../helpers/davfs2.js';

const run = promisify(execFile);
const BURST_WINDOW_MS = 500;
/** Polls of the repository while waiting for a burst's commit, and the pause between them. */
const POLLS = 480;
const POLL_MS = 250;
/** Polls in a row with the same commit count (3 s: six burst windows) before it is taken as final. */
const STABLE_POLLS = 12;
/** "A handful of commits". */
const HANDFUL = 5;

describe('history a person can read: real clients on a git server with burst commits (issue 14)', function () {
  this.timeout(300_000);
  let base: string;
  let repo: string;
  let server: CliProcess;
  let url: string;
  let mnt: string;
  let mounted = false;

  const git = async (...args: string[]) => (await run('git', ['--git-dir', repo, ...args], { maxBuffer: 64 << 20 })).stdout;
  const commitCount = async () => Number((await git('rev-list', '--count', 'main').catch(() => '0')).trim());
  const subjects = async (range: string) => (await git('log', '--format=%s', range)).split('\n').filter(Boolean);
  /** The first few subjects, for a failure message (today's code makes hundreds). */
  const some = (xs: string[]) => xs.slice(0, 8).join(' | ') + (xs.length > 8 ? ` | … (${xs.length} in all)` : '');
  const inTip = async (path: string) => git('cat-file', '-e', `main:${path}`).then(() => true, () => false);
  const namesAt = async (dir: string) => (await git('ls-tree', '--name-only', `main:${dir}`).catch(() => '')).split('\n').filter(Boolean);

  /**
   * Waits until `done()` holds at main's tip and the commit count has then stayed the same for
   * STABLE_POLLS polls in a row (no burst left to commit): the final count. Bounded by POLLS steps.
   */
  async function settled(done: () => Promise<boolean>, what: string): Promise<number> {
    let last = -1;
    let same = 0;
    for (let i = 0; i < POLLS; i++) {
      const n = await commitCount();
      same = n === last ? same + 1 : 0;
      last = n;
      if (same >= STABLE_POLLS && (await done())) return n;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    assert.fail(`${what}: not in main's tree with a steady commit count within ${POLLS} polls`);
  }

  before(async function () {
    requireTool(this, '/usr/sbin/mount.davfs', 'davfs2');
    if (!existsSync('/dev/fuse') || process.getuid?.() !== 0) this.skip(); // a mount needs FUSE and root
    base = await mkdtemp(join(tmpdir(), 'gitdav-history-'));
    repo = join(base, 'repo');
    server = runCli(['serve', '--backend', 'git', '--root', repo, '--host', '127.0.0.1', '--port', '0', '--log-level', 'error', '--burst-window-ms', String(BURST_WINDOW_MS)]);
    url = await server.url;
    mnt = await mountDavfs(url, base, { locks: true });
    mounted = true;
  });
  after(async () => {
    if (mounted) await tool('/bin/umount', [mnt]);
    killCliProcesses();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('cp -r of 200 files through davfs2: a handful of commits, each "Add N files to tree/…", all 200 files in them', async () => {
    const src = join(base, 'src', 'tree');
    for (let d = 0; d < 4; d++) {
      await mkdir(join(src, `d${d}`), { recursive: true });
      for (let i = 0; i < 50; i++) await writeFile(join(src, `d${d}`, `f${i}.txt`), `file ${d}/${i}\n`);
    }
    const before = await settled(async () => true, 'the start');
    const head = before ? (await git('rev-parse', 'main')).trim() : undefined;
    const cp = await tool('/bin/cp', ['-r', src, mnt]);
    assert.equal(cp.code, 0, cp.stderr);
    await tool('/bin/sync', []);
    const after = await settled(async () => (await Promise.all([0, 1, 2, 3].map((d) => namesAt(`tree/d${d}`)))).every((n) => n.filter((x) => x.endsWith('.txt')).length === 50), 'cp -r');
    const made = after - before;
    const range = head ? `${head}..main` : 'main';
    assert.ok(made >= 1 && made <= HANDFUL, `${made} commits for 200 files: ${some(await subjects(range))}`);
    for (const s of await subjects(range)) assert.match(s, /^Add (\d+ files to )?tree\//, `a commit subject: ${s}`);
    const added = (await git('diff', '--name-only', '--diff-filter=A', ...(head ? [head, 'main'] : ['4b825dc642cb6eb9a060e54bf8d69288fbee4904', 'main'])))
      .split('\n')
      .filter((p) => p.endsWith('.txt'));
    assert.equal(added.length, 200);
    assert.equal(await readFile(join(mnt, 'tree', 'd3', 'f49.txt'), 'utf8'), 'file 3/49\n');
  });

  it('rm -r of a 25-file folder through davfs2: one commit, "Delete … (25 files)"', async () => {
    await mkdir(join(mnt, 'gone'));
    for (let i = 0; i < 25; i++) await writeFile(join(mnt, 'gone', `g${i}.txt`), `g${i}\n`);
    await tool('/bin/sync', []);
    const before = await settled(async () => (await namesAt('gone')).filter((x) => x.endsWith('.txt')).length === 25, 'the 25 files');
    const r = await tool('/bin/rm', ['-r', join(mnt, 'gone')]);
    assert.equal(r.code, 0, r.stderr);
    await tool('/bin/sync', []);
    const after = await settled(async () => !(await inTip('gone')), 'rm -r');
    const s = await subjects(`main~${after - before}..main`);
    assert.equal(after - before, 1, `commits for rm -r: ${some(s)}`);
    assert.match(s[0]!, /^Delete .*gone.* \(25 files\)/);
  });

  it('sed -i on a file through davfs2: one commit, whose --stat names that file only (no temp file)', async () => {
    await mkdir(join(mnt, 'docs'), { recursive: true });
    await writeFile(join(mnt, 'docs', 'plan.md'), 'colour\nflavour\n');
    await tool('/bin/sync', []);
    const before = await settled(async () => inTip('docs/plan.md'), 'plan.md');
    const r = await tool('/bin/sed', ['-i', 's/our/or/', join(mnt, 'docs', 'plan.md')]);
    assert.equal(r.code, 0, r.stderr);
    await tool('/bin/sync', []);
    const after = await settled(async () => (await git('cat-file', 'blob', 'main:docs/plan.md').catch(() => '')) === 'color\nflavor\n', 'sed -i');
    const s = await subjects(`main~${Math.max(1, after - before)}..main`);
    assert.equal(after - before, 1, `commits for sed -i: ${some(s)}`);
    assert.match(s[0]!, /^Update docs\/plan\.md/);
    const stat = (await git('log', '-1', '--format=', '--name-only', 'main')).split('\n').filter(Boolean);
    assert.deepEqual(stat, ['docs/plan.md'], 'the commit changes plan.md only: no sed temp file');
    const everTouched = (await git('log', '--format=', '--name-only', 'main')).split('\n');
    assert.ok(!everTouched.some((p) => /(^|\/)sed[A-Za-z0-9]{6}$/.test(p)), 'no sed temp file anywhere in history');
  });

  it('rclone copy of a folder (parallel uploads): a handful of commits, every file there', async function () {
    requireTool(this, '/usr/bin/rclone', 'rclone');
    const src = join(base, 'rclone-src');
    await mkdir(join(src, 'sub'), { recursive: true });
    for (let i = 0; i < 40; i++) await writeFile(join(src, i % 2 ? 'sub' : '', `r${i}.txt`), `r${i}\n`);
    const before = await settled(async () => true, 'the start');
    const r = await tool('/usr/bin/rclone', ['copy', src, ':webdav:synced', '--webdav-url', `${url}/`, '--webdav-vendor', 'other', '--transfers', '4', '--config', '/dev/null', '-q']);
    assert.equal(r.code, 0, r.stderr);
    const after = await settled(async () => (await namesAt('synced')).filter((x) => x.endsWith('.txt')).length === 20 && (await namesAt('synced/sub')).filter((x) => x.endsWith('.txt')).length === 20, 'rclone copy');
    const s = await subjects(`main~${Math.max(1, after - before)}..main`);
    assert.ok(after - before >= 1 && after - before <= HANDFUL, `${after - before} commits for rclone copy: ${some(s)}`);
    for (const x of s) assert.doesNotMatch(x, /^\d+ changes$/, `a subject that says nothing: ${x}`);
  });
});
