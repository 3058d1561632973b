/**
 * The git-specific part of the benchmark: fixtures for git-backed servers (uploaded through WebDAV,
 * since their files live in commits, not on disk), commit counts, `git fsck --strict` and
 * `count-objects`, finding and waiting for the server's background `git gc`, the group-commit
 * verdict, and the history-listing measurement (bench/history.ts).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { FOLDER, LARGE_GET, MANY_BODY, PUT_DIRS, SMALL_GET, manyItem } from './fixtures.js';
import { fetchOnce, putFile, putMany } from './load.js';
import type { Peer } from './peers.js';
import { sleep } from './proc.js';
import { measureHistory } from './history.js';

/** Group commit must beat a commit per request by this much at 16 clients. */
export const GROUP_COMMIT_TARGET = 3;

async function mkcol(url: string): Promise<void> {
  const r = await fetchOnce(url, 'MKCOL');
  if (r.status !== 201) throw new Error(`MKCOL ${url} answered ${r.status}`);
}

/** The empty folders for the small-PUT runs (and their parent). */
export async function makePutDirs(p: Peer): Promise<void> {
  const parents = [...new Set(PUT_DIRS.map((d) => d.slice(0, d.lastIndexOf('/'))).filter(Boolean))];
  for (const d of [...parents, ...PUT_DIRS]) await mkcol(p.url + d + '/');
}

/**
 * The same fixtures as the folder servers get, through WebDAV: the 1 MiB and 100 MiB files (streamed
 * from `srcDir`, where writeFixtures put them), the folder of 1,000 files (16 clients, so group commit
 * makes few commits of them), and the PUT folders.
 */
export async function uploadFixtures(p: Peer, srcDir: string): Promise<void> {
  for (const f of [SMALL_GET, LARGE_GET]) {
    const status = await putFile(p.url + f.path, join(srcDir, f.path));
    if (status !== 201 && status !== 204) throw new Error(`PUT ${f.path} answered ${status}`);
  }
  await mkcol(p.url + FOLDER.path);
  const many = await putMany({ baseUrl: p.url + FOLDER.path.replace(/\/$/, ''), count: FOLDER.members, body: Buffer.from(MANY_BODY), clients: 16, name: manyItem, maxSeconds: 180 });
  if (many.errors || many.done !== FOLDER.members) throw new Error(`${many.errors} of ${many.done} fixture PUTs into ${FOLDER.path} failed`);
  await makePutDirs(p);
}

function git(gitDir: string, args: string[], timeoutMs = 120_000) {
  return spawnSync('git', ['--git-dir', gitDir, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
}

/** `git rev-list --count main`; 0 for a repository without commits, undefined if git fails otherwise. */
export function commitCount(gitDir: string): number | undefined {
  const r = git(gitDir, ['rev-list', '--count', 'main']);
  if (r.status === 0) return Number(r.stdout.trim());
  if (git(gitDir, ['rev-parse', '--verify', '--quiet', 'refs/heads/main']).status === 1) return 0;
  return undefined;
}

/**
 * Native git processes working on `gitDir`: the git backend starts `git gc --auto` every 500 commits,
 * and gc detaches (it leaves the server's process tree), so they are found by what they work on:
 * `--git-dir DIR` on the command line, `GIT_DIR=DIR` in the environment (repack, pack-objects…), or
 * a working directory inside DIR.
 */
export function gitProcessesOn(gitDir: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${name}/comm`, 'utf8').startsWith('git')) continue;
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const env = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${name}/cwd`);
      } catch {
        // not ours to see
      }
      if (argv.includes(gitDir) || env.includes(`GIT_DIR=${gitDir}`) || cwd === gitDir || cwd.startsWith(gitDir + '/')) {
        found.push({ pid: Number(name), cmd: argv.filter((a) => a !== '--git-dir' && a !== gitDir).join(' ') });
      }
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** Polls for git processes on `gitDir`; `stop()` lists the distinct commands seen. */
export function watchGit(gitDir: string, intervalMs = 500): { stop(): string[] } {
  const seen = new Set<string>();
  const look = () => {
    for (const p of gitProcessesOn(gitDir)) seen.add(p.cmd);
  };
  const timer = setInterval(look, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      look();
      return [...seen].sort();
    },
  };
}

/**
 * Waits (bounded) until no git process works on `gitDir`, so a server's background gc neither loads
 * the next measurement nor races fsck or the removal of the temp dir. Returns the seconds waited;
 * past the bound, the stragglers (started by our server) are killed by pid.
 */
export async function waitForGit(gitDir: string, maxMs = 90_000): Promise<{ seconds: number; killed: number }> {
  const start = Date.now();
  while (Date.now() - start < maxMs) {
    if (gitProcessesOn(gitDir).length === 0) return { seconds: (Date.now() - start) / 1000, killed: 0 };
    await sleep(250);
  }
  const left = gitProcessesOn(gitDir);
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return { seconds: (Date.now() - start) / 1000, killed: left.length };
}

/** Entries of main's tree in folder `dir` (no leading slash) whose names match `name`; 0 while there is no such folder. */
export function entriesAtTip(gitDir: string, dir: string, name: RegExp = /./): number {
  const r = git(gitDir, ['ls-tree', '--name-only', `main:${dir}`]);
  return r.status === 0 ? r.stdout.split('\n').filter((x) => x && name.test(x)).length : 0;
}

/** Polls every `pollMs` until `done(gitDir)`, for at most `maxMs`: the ms waited, or undefined past the bound. */
export async function untilTip(gitDir: string, done: (gitDir: string) => boolean, maxMs = 120_000, pollMs = 10): Promise<number | undefined> {
  const start = performance.now();
  while (performance.now() - start < maxMs) {
    if (done(gitDir)) return performance.now() - start;
    await sleep(pollMs);
  }
  return undefined;
}

/** `git count-objects -v`: loose objects and objects in packs (non-zero once `git gc --auto` has packed). */
export function countObjects(gitDir: string): { loose: number; packed: number; packs: number } | undefined {
  const r = git(gitDir, ['count-objects', '-v']);
  if (r.status !== 0) return undefined;
  const field = (k: string) => Number(r.stdout.match(new RegExp(`^${k}: (\\d+)`, 'm'))?.[1] ?? NaN);
  return { loose: field('count'), packed: field('in-pack'), packs: field('packs') };
}

export interface FsckResult {
  /** Exit 0, and nothing but `dangling …` lines (unreachable objects, e.g. the DELETEd 1 GiB blob). */
  clean: boolean;
  exit: number | null;
  dangling: number;
  /** Every other line git printed. */
  problems: string[];
  seconds: number;
}

/** `git --git-dir DIR fsck --strict`: full connectivity and object-format check, every object re-hashed. */
export function fsck(gitDir: string): FsckResult {
  const start = Date.now();
  const r = git(gitDir, ['fsck', '--strict'], 300_000);
  const lines = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').map((l) => l.trim()).filter(Boolean);
  const dangling = lines.filter((l) => l.startsWith('dangling ')).length;
  const problems = lines.filter((l) => !l.startsWith('dangling ') && !/^Checking |^Verifying /.test(l));
  if (r.error) problems.push(`git fsck: ${r.error.message}`);
  return { clean: r.status === 0 && problems.length === 0, exit: r.status, dangling, problems, seconds: (Date.now() - start) / 1000 };
}

export function describeFsck(label: string, f: FsckResult, objects?: { loose: number; packed: number; packs: number }): string {
  const verdict = f.clean ? 'clean' : 'NOT CLEAN';
  const counts = objects ? `; ${objects.loose} loose objects, ${objects.packed} in ${objects.packs} pack(s)` : '';
  const detail = `exit ${f.exit ?? 'none'}, ${f.dangling} dangling object(s), ${f.seconds.toFixed(1)} s${counts}`;
  const extra = f.problems.length ? `: ${f.problems.slice(0, 5).join('; ')}${f.problems.length > 5 ? ` … (${f.problems.length} lines)` : ''}` : '';
  return `git fsck --strict, ${label}: ${verdict} (${detail})${extra}`;
}

/** Group commit ÷ commit per request, and whether it reaches the target. */
export function groupCommitVerdict(group: number | undefined, baseline: number | undefined): { ratio?: number; pass: boolean; text: string } {
  if (group === undefined || baseline === undefined || baseline === 0) {
    return { pass: false, text: `group commit ÷ commit per PUT at 16 clients: n/a, target ≥ ${GROUP_COMMIT_TARGET}×: FAIL (not measured)` };
  }
  const ratio = group / baseline;
  const pass = ratio >= GROUP_COMMIT_TARGET;
  return {
    ratio,
    pass,
    text: `group commit ÷ commit per PUT at 16 clients: ${group.toFixed(0)} ÷ ${baseline.toFixed(0)} PUT/s = ${ratio.toFixed(2)}×, target ≥ ${GROUP_COMMIT_TARGET}×: ${pass ? 'PASS' : 'FAIL'}`,
  };
}

/** Listing a file's versions on a 10,000-commit history (bench/history.ts; its own repository). */
export async function measureHistoryListing(_p: Peer | undefined): Promise<{ value?: number; note: string }> {
  return measureHistory();
}
