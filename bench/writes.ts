/**
 * The write stages of the WebDAV section (BENCH_SECTIONS=…,writes; not in the default run, which
 * measures issue 13's reads): a 1 GiB PUT + GET on fresh processes with their memory watched, the
 * small-PUT runs at 1 and 16 clients, commit counts, the history listing on a 10,000-commit history,
 * then `git fsck --strict` on the stopped git servers and the group-commit verdict.
 */
import { BIG, PUT_CLIENTS, putDir } from './fixtures.js';
import { commitCount, countObjects, describeFsck, fsck, groupCommitVerdict, measureHistoryListing, waitForGit, type FsckResult } from './git.js';
import { downloads, putMany, streamedPut, type RateResult } from './load.js';
import { BENCH_WORKERS, type Peer, type PeerName } from './peers.js';
import { peakRss, resetPeakRss, sampleRss } from './proc.js';
import { fmt, type Cell, type Row, type TableId } from './table.js';

const PUTS = 1000;
const PUT_SIZE = 1024;
/** A bound on one small-PUT run, whatever the server's speed. */
const PUT_MAX_SECONDS = 100;
const RSS_LIMIT = 150e6;
const MB = 1e6;

const FSCK_LABELS: Partial<Record<PeerName, string>> = {
  git: 'group-commit repository (gitdav git)',
  gitN: `group-commit repository, ${BENCH_WORKERS} workers (gitdav git ×${BENCH_WORKERS})`,
  baseline: 'commit-per-PUT repository',
};

export type WriteRows = ReturnType<typeof writeRows>;

export function writeRows(row: (label: string, tables: TableId[], digits?: number) => Row) {
  const ALL: TableId[] = ['issue', 'peers', 'git'];
  return {
    puts: Object.fromEntries(
      PUT_CLIENTS.map((c) => [c, row(`${PUTS} PUTs of ${PUT_SIZE} B new files, ${c === 1 ? '1 client' : `${c} concurrent clients`} (keep-alive), PUT/s`, ALL)]),
    ) as Record<(typeof PUT_CLIENTS)[number], Row>,
    bigPut: row('PUT 1 GiB (streamed from a generator), MB/s', ALL),
    bigGet: row('GET 1 GiB, MB/s', ALL),
    bigRss: row('peak RSS during the 1 GiB PUT + GET (tree sum), MB', ALL, 1),
    commits: row(`commits on main made by the ${PUTS * PUT_CLIENTS.length} small PUTs`, ['issue', 'git']),
    commitsTotal: row('commits on main at the end of the run (all writes)', ['issue', 'git']),
    history: row('history listing on a 10,000-commit history', ['git']),
  };
}

export interface WriteContext {
  peers: Peer[];
  rows: WriteRows;
  notes: string[];
  log: (msg: string) => void;
  measure: (r: Row, peers: Peer[], fn: (p: Peer) => Promise<Cell>) => Promise<void>;
  rateCell: (label: string, p: Peer, r: RateResult) => Cell;
  /** Servers whose VmHWM was reset before the 1 GiB stage. */
  hwmReset?: Set<PeerName>;
}

/** 1 GiB PUT then GET, each server's memory watched; runs first, on freshly started servers. */
export async function bigTransfers(ctx: WriteContext, peers: Peer[]): Promise<void> {
  const R = ctx.rows;
  ctx.hwmReset = new Set<PeerName>();
  for (const p of peers) {
    const reset = p.node && resetPeakRss(p.pid);
    if (reset) ctx.hwmReset.add(p.name);
    const sampler = sampleRss(p.pid, 50);
    try {
      const up = await streamedPut(p.url + BIG.path, BIG.size);
      const stored = p.storedSize(BIG.path);
      if (up.errors || stored !== BIG.size) throw new Error(`PUT answered ${up.status}, ${stored ?? 'no'} bytes stored`);
      R.bigPut.cells[p.name] = { value: up.bytesPerSecond / MB };
      const down = await downloads(p.url + BIG.path, 1, BIG.size);
      if (down.errors) throw new Error(`GET gave ${down.bytes} bytes`);
      R.bigGet.cells[p.name] = { value: down.bytesPerSecond / MB };
    } catch (err) {
      ctx.notes.push(`1 GiB transfer, ${p.name}: ${(err as Error).message}`);
      R.bigPut.cells[p.name] ??= { note: 'failed' };
      R.bigGet.cells[p.name] ??= { note: 'failed' };
    }
    const sampled = sampler.stop();
    const hwm = reset ? peakRss(p.pid) : undefined;
    R.bigRss.cells[p.name] = { value: Math.max(sampled, hwm ?? 0) / MB };
    ctx.log(`1 GiB ${p.name}: PUT ${fmt(R.bigPut.cells[p.name], 0)} MB/s, GET ${fmt(R.bigGet.cells[p.name], 0)} MB/s, RSS ${fmt(R.bigRss.cells[p.name], 1)} MB`);
    await p.removeFile(BIG.path).catch((err: unknown) => ctx.notes.push(`removing the 1 GiB file, ${p.name}: ${(err as Error).message}`));
  }
}

/** Lets a server's background `git gc --auto` finish (untimed), so it does not load the next measurement. */
async function settleGit(ctx: WriteContext, p: Peer, when: string): Promise<void> {
  const w = await waitForGit(p.dataDir);
  if (w.seconds >= 0.5 || w.killed) ctx.notes.push(`${p.name}: waited ${w.seconds.toFixed(1)} s ${when} for its background git gc${w.killed ? `, then killed ${w.killed} git process(es)` : ''}`);
}

/** The small-PUT runs (new files into an empty folder per run), commit counts, the history listing. */
export async function writeStages(ctx: WriteContext): Promise<void> {
  const R = ctx.rows;
  const gitPeers = ctx.peers.filter((p) => p.storage === 'git');
  const before = new Map(gitPeers.map((p) => [p.name, commitCount(p.dataDir)]));
  const body = Buffer.alloc(PUT_SIZE, 'x');
  for (const clients of PUT_CLIENTS) {
    const r = R.puts[clients];
    await ctx.measure(r, ctx.peers, async (p) => {
      const res = await putMany({ baseUrl: p.url + putDir(clients), count: PUTS, body, clients, maxSeconds: PUT_MAX_SECONDS });
      if (p.storage === 'git') await settleGit(ctx, p, `after its ${clients}-client PUTs`);
      const cell = ctx.rateCell(r.label, p, res);
      if (res.done < PUTS) {
        ctx.notes.push(`${r.label}, ${p.name}: stopped by the ${PUT_MAX_SECONDS} s cap after ${res.done} PUTs`);
        cell.note = `${res.done} PUTs`;
      }
      return cell;
    });
  }
  for (const p of gitPeers) {
    const b = before.get(p.name);
    const a = commitCount(p.dataDir);
    R.commits.cells[p.name] = a === undefined || b === undefined ? { note: 'git failed' } : { value: a - b };
    R.commitsTotal.cells[p.name] = a === undefined ? { note: 'git failed' } : { value: a };
  }
  if (ctx.peers.some((p) => p.name === 'git')) {
    R.history.cells.git = await measureHistoryListing(ctx.peers.find((p) => p.name === 'git'));
    ctx.log(`${R.history.label}: ${fmt(R.history.cells.git, 0)}`);
  }
}

/** fsck on the stopped git servers (nothing can be in flight) and the checks: RSS of the 1 GiB stage, group commit. */
export async function writeChecks(ctx: WriteContext, spawned: Map<PeerName, { stop(): string[] }>): Promise<{ pass: boolean; text: string }[]> {
  const R = ctx.rows;
  const fscks: { name: PeerName; result: FsckResult; objects: ReturnType<typeof countObjects> }[] = [];
  for (const p of ctx.peers.filter((q) => q.storage === 'git')) {
    await settleGit(ctx, p, 'before fsck');
    const seen = spawned.get(p.name)?.stop() ?? [];
    ctx.notes.push(`${p.name}: native git processes seen on its repository during the run: ${seen.length ? seen.map((c) => `\`${c}\``).join(', ') : 'none'}`);
    await p.stop();
    ctx.log(`git fsck --strict on ${p.name}'s repository…`);
    fscks.push({ name: p.name, result: fsck(p.dataDir), objects: countObjects(p.dataDir) });
  }
  const running = new Set(ctx.peers.map((p) => p.name));
  const checks: { pass: boolean; text: string }[] = [];
  const how = (n: PeerName) => (ctx.hwmReset?.has(n) ? 'VmHWM reset just before the PUT, and VmRSS sampled every 50 ms' : 'VmRSS of the tree sampled every 50 ms');
  for (const n of ['gitdav', 'git', 'gitdavN', 'gitN'] as const) {
    if (!running.has(n)) continue;
    const ok = R.bigPut.cells[n]?.value !== undefined && R.bigGet.cells[n]?.value !== undefined;
    const rss = R.bigRss.cells[n]?.value;
    const pass = rss !== undefined && rss * MB < RSS_LIMIT && ok;
    const label = { gitdav: 'gitdav fs', git: 'gitdav git', gitdavN: `gitdav fs ×${BENCH_WORKERS}`, gitN: `gitdav git ×${BENCH_WORKERS}` }[n];
    checks.push({ pass, text: `${label} peak RSS during the 1 GiB PUT + GET: ${rss === undefined ? 'n/a' : rss.toFixed(1) + ' MB'} (${how(n)}), limit 150 MB: ${pass ? 'PASS' : 'FAIL'}` });
  }
  if (running.has('git') && running.has('baseline')) {
    const top = PUT_CLIENTS[PUT_CLIENTS.length - 1]!;
    checks.push(groupCommitVerdict(R.puts[top].cells.git?.value, R.puts[top].cells.baseline?.value));
  } else {
    checks.push({ pass: true, text: 'group commit ÷ commit per PUT: not checked (needs both git and baseline in BENCH_PEERS)' });
  }
  for (const f of fscks) checks.push({ pass: f.result.clean, text: describeFsck(FSCK_LABELS[f.name] ?? f.name, f.result, f.objects) });
  return checks;
}
