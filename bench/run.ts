/**
 * `npm run bench`: gitdav's git backend (group commit), gitdav's folder backend, a commit-per-request
 * git baseline, nginx and Apache, side by side in one run, every server on its own 127.0.0.1 port and
 * temp data dir; prints two tables (folder backend vs nginx/Apache; git backend vs the rest) and the
 * PASS/FAIL checks. Servers that are missing or fail to start show as n/a. Every server is stopped at
 * the end, on errors and on SIGINT.
 *
 * BENCH_SECONDS (default 10) sets the length of the load runs; BENCH_PEERS=git,gitdav,nginx picks
 * servers (git, gitN, baseline, gitdav, gitdavN, nginx, apache; the …N ones run a worker per CPU); BENCH_NO_WRK=1 / BENCH_NO_CURL=1 use the Node
 * client loops instead of wrk / curl.
 *
 * Then the CalDAV section (bench/caldav.ts): gitdav git, gitdav fs, Xandikos and Radicale on one
 * generated calendar, its own table. BENCH_SECTIONS=webdav or =caldav runs only one of the two
 * (default: both); the CalDAV knobs are described in bench/caldav.ts.
 */
import { cpus, loadavg } from 'node:os';
import { spawnSync } from 'node:child_process';
import { BIG, FOLDER, LARGE_GET, PROPFIND_BODY, PROPFIND_PROPS, PUT_CLIENTS, SMALL_GET, countResponses, putDir, writeFixtures } from './fixtures.js';
import { commitCount, countObjects, describeFsck, fsck, groupCommitVerdict, makePutDirs, measureHistoryListing, uploadFixtures, waitForGit, watchGit, type FsckResult } from './git.js';
import { downloads, fetchOnce, hasCurl, hasWrk, putMany, runLoad, streamedPut, type RateResult } from './load.js';
import { BENCH_WORKERS, STARTERS, type Peer, type PeerName } from './peers.js';
import { installSignalHandlers, makeTempDir, peakRss, removeTempDirs, resetPeakRss, sampleRss, stopAll } from './proc.js';
import { fmt, renderTable, tableRan, type Cell, type Row, type TableId } from './table.js';
import { runCalDav } from './caldav.js';

const ORDER: PeerName[] = ['git', 'gitN', 'baseline', 'gitdav', 'gitdavN', 'nginx', 'apache'];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const DOWNLOADS = 5;
const PUTS = 1000;
const PUT_SIZE = 1024;
/** A bound on one small-PUT run, whatever the server's speed. */
const PUT_MAX_SECONDS = 100;
const RSS_LIMIT = 150e6;
const MB = 1e6;

const rows: Row[] = [];
const FSCK_LABELS: Partial<Record<PeerName, string>> = {
  git: 'group-commit repository (gitdav git)',
  gitN: `group-commit repository, ${BENCH_WORKERS} workers (gitdav git ×${BENCH_WORKERS})`,
  baseline: 'commit-per-PUT repository',
};
const notes: string[] = [];
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

function row(label: string, tables: TableId[], digits = 0): Row {
  const r: Row = { label, digits, tables, cells: {} };
  rows.push(r);
  return r;
}

/** Runs one measurement for each peer in turn; a failure is that peer's n/a, not the run's end. */
async function measure(r: Row, peers: Peer[], fn: (p: Peer) => Promise<Cell>): Promise<void> {
  for (const p of peers) {
    try {
      r.cells[p.name] = await fn(p);
    } catch (err) {
      r.cells[p.name] = { note: 'failed' };
      notes.push(`${r.label}, ${p.name}: ${(err as Error).message.split('\n')[0]}`);
    }
    log(`${r.label} ${p.name}: ${fmt(r.cells[p.name], r.digits)}`);
  }
}

function rateCell(label: string, p: Peer, r: RateResult): Cell {
  if (r.errors > 0) notes.push(`${label}, ${p.name}: ${r.errors} of ${r.requests} requests failed or were not 2xx`);
  if (r.requests > 0 && r.errors >= r.requests) return { note: 'failed' };
  return { value: r.rate };
}

function version(cmd: string, args: string[], pattern: RegExp): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.match(pattern)?.[1] ?? '?';
}

async function startPeers(): Promise<{ peers: Peer[]; missing: Partial<Record<PeerName, string>> }> {
  const wanted = (process.env.BENCH_PEERS?.split(',') ?? ORDER).filter((n): n is PeerName => ORDER.includes(n as PeerName));
  const peers: Peer[] = [];
  const missing: Partial<Record<PeerName, string>> = {};
  for (const name of ORDER) {
    if (!wanted.includes(name)) {
      missing[name] = 'not selected';
      continue;
    }
    try {
      const p = await STARTERS[name]();
      peers.push(p);
      log(`${name} on ${p.url} (pid ${p.pid}), data in ${p.dataDir}`);
    } catch (err) {
      missing[name] = (err as Error).message.split('\n')[0]!;
      log(`${name} skipped: ${missing[name]}`);
    }
  }
  return { peers, missing };
}

/**
 * The same files on every server: written into the folder servers' data dirs (or a scratch dir when
 * none runs), uploaded through WebDAV into git-backed ones; the baseline only gets the PUT folders.
 */
async function fixtures(peers: Peer[]): Promise<void> {
  const folders = peers.filter((p) => p.storage === 'folder').map((p) => p.dataDir);
  const dirs = folders.length ? folders : [makeTempDir('fixtures')];
  writeFixtures(dirs);
  for (const p of peers) p.fixOwnership();
  for (const p of peers.filter((q) => q.storage === 'git')) {
    const began = Date.now();
    try {
      if (p.name === 'baseline') await makePutDirs(p);
      else await uploadFixtures(p, dirs[0]!);
      log(`fixtures into ${p.name} through WebDAV: ${((Date.now() - began) / 1000).toFixed(1)} s`);
    } catch (err) {
      notes.push(`fixtures, ${p.name}: ${(err as Error).message}`);
    }
  }
}

/** Checks that each server serves the fixtures as expected before anything is timed. */
async function check(peers: Peer[]): Promise<{ propfindOk: Set<PeerName> }> {
  const propfindOk = new Set<PeerName>();
  for (const p of peers) {
    try {
      const g = await fetchOnce(p.url + SMALL_GET.path);
      if (g.status !== 200 || g.body.length !== SMALL_GET.size) notes.push(`check, ${p.name}: GET ${SMALL_GET.path} gave ${g.status} with ${g.body.length} bytes`);
      const pf = await fetchOnce(p.url + FOLDER.path, 'PROPFIND', { Depth: '1', 'Content-Type': 'application/xml; charset=utf-8' }, PROPFIND_BODY);
      const n = countResponses(pf.body.toString('utf8'));
      if (pf.status === 207 && n === FOLDER.members + 1) propfindOk.add(p.name);
      else notes.push(`check, ${p.name}: PROPFIND Depth 1 on ${FOLDER.path} gave ${pf.status} with ${n} responses (want 207 with ${FOLDER.members + 1}); not measured`);
    } catch (err) {
      notes.push(`check, ${p.name}: ${(err as Error).message}`);
    }
  }
  return { propfindOk };
}

/** Rows in the order they are printed; filled in whatever order the stages run. */
const loadTool = hasWrk ? `wrk -t2 -c16 -d${SECONDS}s` : `Node loop, 16 keep-alive clients, ${SECONDS}s`;
const BOTH: TableId[] = ['peers', 'git'];
const R = {
  get1: row(`GET 1 MiB, req/s (${loadTool})`, BOTH),
  get100: row(`GET 100 MiB, MB/s (${DOWNLOADS} sequential, ${hasCurl ? 'curl' : 'Node client'})`, BOTH),
  propfind: row(`PROPFIND Depth 1, ${FOLDER.members} members, req/s (${hasWrk ? 'wrk -t2 -c16, Lua script' : 'Node loop, 16 keep-alive clients'})`, BOTH),
  puts: Object.fromEntries(
    PUT_CLIENTS.map((c) => [c, row(`${PUTS} PUTs of ${PUT_SIZE} B new files, ${c === 1 ? '1 client' : `${c} concurrent clients`} (keep-alive), PUT/s`, BOTH)]),
  ) as Record<(typeof PUT_CLIENTS)[number], Row>,
  bigPut: row('PUT 1 GiB (streamed from a generator), MB/s', BOTH),
  bigGet: row(`GET 1 GiB, MB/s (${hasCurl ? 'curl' : 'Node client'})`, BOTH),
  bigRss: row('peak RSS during the 1 GiB PUT + GET, MB', BOTH, 1),
  runRss: row('peak RSS over the whole run, MB', BOTH, 1),
  commits: row(`commits on main made by the ${PUTS * PUT_CLIENTS.length} small PUTs`, ['git']),
  commitsTotal: row('commits on main at the end of the run (all writes)', ['git']),
  history: row('history listing on a 10,000-commit history', ['git']),
};

/** 1 GiB PUT then GET, each server's memory watched; runs first, on freshly started servers. */
async function bigTransfers(peers: Peer[]): Promise<Set<PeerName>> {
  const hwmReset = new Set<PeerName>();
  for (const p of peers) {
    const reset = p.node && resetPeakRss(p.pid);
    if (reset) hwmReset.add(p.name);
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
      notes.push(`1 GiB transfer, ${p.name}: ${(err as Error).message}`);
      R.bigPut.cells[p.name] ??= { note: 'failed' };
      R.bigGet.cells[p.name] ??= { note: 'failed' };
    }
    const sampled = sampler.stop();
    const hwm = reset ? peakRss(p.pid) : undefined;
    R.bigRss.cells[p.name] = { value: Math.max(sampled, hwm ?? 0) / MB };
    log(`1 GiB ${p.name}: PUT ${fmt(R.bigPut.cells[p.name], 0)} MB/s, GET ${fmt(R.bigGet.cells[p.name], 0)} MB/s, RSS ${fmt(R.bigRss.cells[p.name], 1)} MB`);
    await p.removeFile(BIG.path).catch((err: unknown) => notes.push(`removing the 1 GiB file, ${p.name}: ${(err as Error).message}`));
  }
  return hwmReset;
}

/** The small-PUT runs: new files into an empty folder per run, `clients` keep-alive connections. */
async function smallPuts(peers: Peer[]): Promise<void> {
  const body = Buffer.alloc(PUT_SIZE, 'x');
  for (const clients of PUT_CLIENTS) {
    const r = R.puts[clients];
    await measure(r, peers, async (p) => {
      const res = await putMany({ baseUrl: p.url + putDir(clients), count: PUTS, body, clients, maxSeconds: PUT_MAX_SECONDS });
      if (p.storage === 'git') await settleGit(p, `after its ${clients}-client PUTs`);
      const cell = rateCell(r.label, p, res);
      if (res.done < PUTS) {
        notes.push(`${r.label}, ${p.name}: stopped by the ${PUT_MAX_SECONDS} s cap after ${res.done} PUTs`);
        cell.note = `${res.done} PUTs`;
      }
      return cell;
    });
  }
}

/** Lets a server's background `git gc --auto` finish (untimed), so it does not load the next measurement. */
async function settleGit(p: Peer, when: string): Promise<void> {
  const w = await waitForGit(p.dataDir);
  if (w.seconds >= 0.5 || w.killed) notes.push(`${p.name}: waited ${w.seconds.toFixed(1)} s ${when} for its background git gc${w.killed ? `, then killed ${w.killed} git process(es)` : ''}`);
}

function rssCheck(name: string, rss: number | undefined, ok: boolean, how: string): { pass: boolean; text: string } {
  const pass = rss !== undefined && rss * MB < RSS_LIMIT && ok;
  return {
    pass,
    text: `${name} peak RSS during the 1 GiB PUT + GET: ${rss === undefined ? 'n/a' : rss.toFixed(1) + ' MB'} (${how}), limit 150 MB: ${pass ? 'PASS' : 'FAIL'}`,
  };
}

/** The WebDAV section: its header, two tables, checks and notes, as lines; `pass` is false if a check failed. */
async function webdavSection(): Promise<{ lines: string[]; pass: boolean }> {
  const { peers, missing } = await startPeers();
  if (!peers.some((p) => p.name === 'gitdav' || p.name === 'git')) throw new Error(`gitdav did not start: ${missing.git ?? missing.gitdav ?? 'unknown reason'}`);
  const byName = (n: PeerName) => peers.find((p) => p.name === n);
  const servers = peers.filter((p) => p.name !== 'baseline'); // the baseline is only in the small-PUT rows
  const whole = new Map(peers.map((p) => [p.name, sampleRss(p.pid, 250)]));
  const spawned = new Map(peers.filter((p) => p.storage === 'git').map((p) => [p.name, watchGit(p.dataDir)]));
  const load: number[] = [];
  const loadTimer = setInterval(() => load.push(loadavg()[0]!), 5000);
  try {
    // The 1 GiB stage first: the streaming memory of a fresh process, before other loads have grown its heap.
    const hwmReset = await bigTransfers(servers);

    log('writing fixtures…');
    await fixtures(peers);
    const { propfindOk } = await check(servers);

    // GET 1 MiB.
    await measure(R.get1, servers, async (p) => {
      const spec = { url: p.url + SMALL_GET.path, threads: 2, connections: 16, seconds: SECONDS };
      await runLoad({ ...spec, seconds: WARMUP_SECONDS });
      return rateCell(R.get1.label, p, await runLoad(spec));
    });

    // GET 100 MiB.
    await measure(R.get100, servers, async (p) => {
      await downloads(p.url + LARGE_GET.path, 1, LARGE_GET.size);
      const r = await downloads(p.url + LARGE_GET.path, DOWNLOADS, LARGE_GET.size);
      if (r.errors) notes.push(`${R.get100.label}, ${p.name}: ${r.errors} downloads were short or not 200`);
      return r.errors === DOWNLOADS ? { note: 'failed' } : { value: r.bytesPerSecond / MB };
    });

    // PROPFIND Depth 1 on 1,000 members.
    await measure(R.propfind, servers, async (p) => {
      if (!propfindOk.has(p.name)) return { note: 'n/a' };
      const spec = {
        url: p.url + FOLDER.path,
        method: 'PROPFIND',
        headers: { Depth: '1', 'Content-Type': 'application/xml; charset=utf-8' },
        body: PROPFIND_BODY,
        threads: 2,
        connections: 16,
        seconds: SECONDS,
      };
      await runLoad({ ...spec, seconds: WARMUP_SECONDS });
      return rateCell(R.propfind.label, p, await runLoad(spec));
    });

    // Small PUTs at 1 and 16 clients; commits counted around them on the git-backed servers.
    const gitPeers = peers.filter((p) => p.storage === 'git');
    const before = new Map(gitPeers.map((p) => [p.name, commitCount(p.dataDir)]));
    await smallPuts(peers);
    for (const p of gitPeers) {
      const b = before.get(p.name);
      const a = commitCount(p.dataDir);
      R.commits.cells[p.name] = a === undefined || b === undefined ? { note: 'git failed' } : { value: a - b };
      R.commitsTotal.cells[p.name] = a === undefined ? { note: 'git failed' } : { value: a };
    }

    // History listing: not built yet; the row says so.
    R.history.cells.git = await measureHistoryListing(byName('git'));
    log(`${R.history.label}: ${fmt(R.history.cells.git, 0)}`);

    for (const p of peers) {
      const sampled = whole.get(p.name)!.stop();
      const hwm = p.node ? peakRss(p.pid) : undefined;
      R.runRss.cells[p.name] = { value: Math.max(sampled, hwm ?? 0) / MB };
    }

    // fsck on stopped servers: nothing can be in flight.
    const fscks: { name: PeerName; result: FsckResult; objects: ReturnType<typeof countObjects> }[] = [];
    for (const p of gitPeers) {
      await settleGit(p, 'before fsck');
      const seen = spawned.get(p.name)!.stop();
      notes.push(`${p.name}: native git processes seen on its repository during the run: ${seen.length ? seen.map((c) => `\`${c}\``).join(', ') : 'none'}`);
      await p.stop();
      log(`git fsck --strict on ${p.name}'s repository…`);
      fscks.push({ name: p.name, result: fsck(p.dataDir), objects: countObjects(p.dataDir) });
    }

    const running = new Set(peers.map((p) => p.name));
    const checks: { pass: boolean; text: string }[] = [];
    const how = (n: PeerName) => (hwmReset.has(n) ? 'VmHWM reset just before the PUT, and VmRSS sampled every 50 ms' : 'VmRSS sampled every 50 ms');
    for (const n of ['gitdav', 'git'] as const) {
      if (!running.has(n)) continue;
      const ok = R.bigPut.cells[n]?.value !== undefined && R.bigGet.cells[n]?.value !== undefined;
      checks.push(rssCheck(n === 'git' ? 'gitdav git' : 'gitdav fs', R.bigRss.cells[n]?.value, ok, how(n)));
    }
    if (running.has('git') && running.has('baseline')) {
      const top = PUT_CLIENTS[PUT_CLIENTS.length - 1]!;
      checks.push(groupCommitVerdict(R.puts[top].cells.git?.value, R.puts[top].cells.baseline?.value));
    } else {
      checks.push({ pass: true, text: 'group commit ÷ commit per PUT: not checked (needs both git and baseline in BENCH_PEERS)' });
    }
    for (const f of fscks) checks.push({ pass: f.result.clean, text: describeFsck(FSCK_LABELS[f.name] ?? f.name, f.result, f.objects) });

    const nginx = missing.nginx ? `n/a (${missing.nginx})` : version('/usr/sbin/nginx', ['-v'], /nginx\/(\S+)/) + ' (dav + dav_ext)';
    const apache = missing.apache ? `n/a (${missing.apache})` : version('/usr/sbin/apache2', ['-v'], /Apache\/(\S+)/) + ' (mod_dav_fs, mpm_event)';
    const out: string[] = [];
    out.push(`gitdav benchmark, ${new Date().toISOString()}; node ${process.version}, ${cpus().length} CPUs, git ${version('git', ['--version'], /version (\S+)/)}, everything on 127.0.0.1`);
    out.push(`gitdav fs: folder backend; gitdav git: git backend, group commit (both one process, --workers 1); ×${BENCH_WORKERS}: the same with --workers ${BENCH_WORKERS} (a supervisor and a worker per CPU); git, commit/PUT: git backend with maxBatch 1; nginx ${nginx}; apache ${apache}`);
    out.push(`MB = 10^6 bytes. Ratios are A ÷ B: above 1× is better for rates, worse for RSS. PROPFIND asks for ${PROPFIND_PROPS.join(', ')}. – = not measured for that server.`);
    out.push(`load average (1 min) during the run: ${load.length ? `${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}` : 'n/a'}`);
    if (tableRan('peers', running)) out.push('', '### gitdav (folder backend) vs nginx vs Apache', '', renderTable('peers', rows, running));
    if (tableRan('git', running)) out.push('', '### git backend vs commit-per-PUT baseline vs folder backend vs nginx', '', renderTable('git', rows, running));
    out.push('', ...checks.map((c) => c.text));
    out.push(
      '',
      'RSS of nginx, Apache and gitdav ×N is the sum of VmRSS over the master (supervisor) and its workers (shared pages counted in each). ' +
        'Whole-run RSS is sampled every 250 ms (one-process gitdav and the baseline: and VmHWM); the 1 GiB stage runs first, on fresh processes.',
    );
    if (notes.length) out.push('', 'Notes:', ...notes.map((n) => `- ${n}`));
    return { lines: out, pass: !checks.some((c) => !c.pass) };
  } finally {
    clearInterval(loadTimer);
    for (const s of whole.values()) s.stop();
    for (const w of spawned.values()) w.stop();
    await stopAll();
    removeTempDirs();
  }
}

async function main(): Promise<void> {
  installSignalHandlers();
  const began = Date.now();
  const sections = new Set((process.env.BENCH_SECTIONS ?? 'webdav,caldav').split(',').map((x) => x.trim()));
  const out: string[] = [];
  if (sections.has('webdav')) {
    const w = await webdavSection();
    out.push(...w.lines);
    if (!w.pass) process.exitCode = 1;
    // Printed now, so a long CalDAV section does not hold these results back.
    process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  }
  if (sections.has('caldav')) {
    log('CalDAV section…');
    const c = await runCalDav((m) => log(`caldav: ${m}`));
    out.push('', '### CalDAV: gitdav (git and folder backends) vs Xandikos vs Radicale', '', ...c.lines);
  }
  out.push('', `total time ${((Date.now() - began) / 1000).toFixed(0)} s`);
  process.stdout.write(out.join('\n') + '\n');
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  await stopAll();
  removeTempDirs();
  process.exit(1);
});
