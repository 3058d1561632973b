/**
 * The WebDAV section of `npm run bench`: the servers of BENCH_PEERS side by side (by default gitdav fs
 * and gitdav git as `gitdav serve` starts them, a worker per CPU, plus nginx and Apache), each on its
 * own 127.0.0.1 port and temp dir. Reads: GET 1 MiB (wrk), GET 100 MiB (curl), PROPFIND Depth 1 on
 * 1,000 files with the bench's properties and with allprop (wrk), one such PROPFIND alone (median);
 * memory: idle RSS per process after start, peak RSS per process over the whole section.
 *
 * With `writes` (BENCH_SECTIONS): first the 1 GiB PUT + GET on fresh processes, later the small-PUT
 * runs, commit counts, the history listing and `git fsck` (bench/writes.ts).
 */
import { cpus, loadavg } from 'node:os';
import { spawnSync } from 'node:child_process';
import { Agent } from 'node:http';
import { FOLDER, LARGE_GET, PROPFIND_BODY, PROPFIND_PROPS, SMALL_GET, countResponses, writeFixtures } from './fixtures.js';
import { makePutDirs, uploadFixtures, watchGit } from './git.js';
import { downloads, fetchOnce, hasCurl, hasWrk, median, runLoad, timedRequest, type RateResult } from './load.js';
import { BENCH_WORKERS, FLOOR_PEERS, STARTERS, type Peer, type PeerName } from './peers.js';
import { describeProcs, makeTempDir, processRss, removeTempDirs, sampleProcesses, sampleRss, sleep, stopAll, waitIdle, type ProcPeak } from './proc.js';
import { fmt, renderTable, tableRan, type Cell, type Row, type TableId } from './table.js';
import { bigTransfers, writeChecks, writeRows, writeStages, type WriteContext } from './writes.js';
import { figuresOf, type Figures, type Who } from './targets.js';

export const ORDER: PeerName[] = ['git', 'gitN', 'baseline', 'gitdav', 'gitdavN', 'nginx', 'apache', 'floor', 'floorBest'];
/** The issue's comparison: gitdav as started by default (a worker per CPU) against nginx and Apache, and the bare-Node floor. */
export const DEFAULT_PEERS: PeerName[] = ['gitN', 'gitdavN', 'nginx', 'apache', 'floor', 'floorBest'];
const WARMUP_SECONDS = 2;
const DOWNLOADS = 5;
/** Sequential PROPFINDs timed one at a time ("alone"), after one untimed. */
const ALONE = 5;
const MB = 1e6;
/** Which peer's figures the targets read (bench/targets.ts). */
export const TARGET_PEER: Partial<Record<PeerName, Who>> = { gitdavN: 'fs', gitN: 'git', nginx: 'nginx', apache: 'apache' };

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

export function selectedPeers(): PeerName[] {
  const env = process.env.BENCH_PEERS;
  if (!env) return DEFAULT_PEERS;
  if (env === 'all') return ORDER;
  return env.split(',').map((x) => x.trim()).filter((n): n is PeerName => ORDER.includes(n as PeerName));
}

async function startPeers(): Promise<{ peers: Peer[]; missing: Partial<Record<PeerName, string>> }> {
  const wanted = selectedPeers();
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

export function version(cmd: string, args: string[], pattern: RegExp): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.match(pattern)?.[1] ?? '?';
}

const largest = (procs: ProcPeak[]) => (procs.length ? Math.max(...procs.map((p) => p.peak)) : undefined);

export async function webdavSection(seconds: number, withWrites: boolean): Promise<{ lines: string[]; pass: boolean; figures: Figures }> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const ALL: TableId[] = ['issue', 'peers', 'git'];
  const row = (label: string, tables: TableId[], digits = 0): Row => {
    const r: Row = { label, digits, tables, cells: {} };
    rows.push(r);
    return r;
  };
  const measure = async (r: Row, peers: Peer[], fn: (p: Peer) => Promise<Cell>): Promise<void> => {
    for (const p of peers) {
      try {
        r.cells[p.name] = await fn(p);
      } catch (err) {
        r.cells[p.name] = { note: 'failed' };
        notes.push(`${r.label}, ${p.name}: ${(err as Error).message.split('\n')[0]}`);
      }
      log(`${r.label} ${p.name}: ${fmt(r.cells[p.name], r.digits)}`);
    }
  };
  /** A load run after a warm-up, each followed by waiting for the server's backlog to drain. */
  const loadRun = async (p: Peer, spec: Parameters<typeof runLoad>[0]): Promise<RateResult> => {
    await runLoad({ ...spec, seconds: WARMUP_SECONDS });
    await settle(p);
    const r = await runLoad(spec);
    await settle(p);
    return r;
  };
  const settle = async (p: Peer) => {
    const s = await waitIdle(p.pid);
    if (s >= 2) notes.push(`${p.name}: busy for ${s.toFixed(1)} s after a load run ended (requests still in flight when wrk stopped); waited before going on`);
  };
  const rateCell = (label: string, p: Peer, r: RateResult): Cell => {
    if (r.errors > 0) notes.push(`${label}, ${p.name}: ${r.errors} of ${r.requests} requests failed or were not 2xx`);
    if (r.requests > 0 && r.errors >= r.requests) return { note: 'failed' };
    return { value: r.rate };
  };
  const loadTool = hasWrk ? `wrk -t2 -c16 -d${seconds}s` : `Node loop, 16 keep-alive clients, ${seconds}s`;
  const R = {
    get1: row(`GET 1 MiB, req/s (${loadTool})`, ALL),
    get100: row(`GET 100 MiB, MB/s (${DOWNLOADS} sequential, ${hasCurl ? 'curl' : 'Node client'})`, ALL),
    propfind: row(`PROPFIND Depth 1, ${FOLDER.members} files, bench props, req/s (${loadTool})`, ALL),
    allprop: row(`PROPFIND Depth 1, ${FOLDER.members} files, allprop (no body), req/s`, ALL),
    oneProps: row(`one PROPFIND Depth 1, ${FOLDER.members} files, bench props, alone, ms (median of ${ALONE})`, ALL, 1),
    oneAll: row(`one PROPFIND Depth 1, ${FOLDER.members} files, allprop, alone, ms (median of ${ALONE})`, ALL, 1),
    idle: row('idle RSS after start and a few requests, largest process, MB', ALL, 1),
    peak: row('peak RSS over the WebDAV section, largest process, MB', ALL, 1),
    runRss: row('peak RSS over the WebDAV section, sum over the process tree, MB', ALL, 1),
  };
  const W = withWrites ? writeRows(row) : undefined;

  const { peers, missing } = await startPeers();
  if (!peers.some((p) => ['gitdav', 'git', 'gitdavN', 'gitN'].includes(p.name))) throw new Error(`gitdav did not start: ${JSON.stringify(missing)}`);
  const servers = peers.filter((p) => p.name !== 'baseline'); // the baseline is only in the small-PUT rows
  const davServers = servers.filter((p) => !FLOOR_PEERS.includes(p.name)); // the node floor serves GET only
  const whole = new Map(peers.map((p) => [p.name, sampleRss(p.pid, 250)]));
  const perProc = new Map(peers.map((p) => [p.name, sampleProcesses(p.pid, 250)]));
  const spawned = new Map(peers.filter((p) => p.storage === 'git').map((p) => [p.name, watchGit(p.dataDir)]));
  const load: number[] = [];
  const loadTimer = setInterval(() => load.push(loadavg()[0]!), 5000);
  const ctx: WriteContext | undefined = W && { peers, rows: W, notes, log, measure, rateCell };
  try {
    // Idle: a few requests each, a moment to settle, then VmRSS of every process.
    for (const p of servers) {
      for (const [m, h] of [['OPTIONS', {}], ['PROPFIND', { Depth: '0' }], ['GET', {}]] as const) await fetchOnce(p.url + '/', m, h).catch(() => undefined);
    }
    await sleep(3000);
    for (const p of servers) {
      const procs = processRss(p.pid);
      R.idle.cells[p.name] = { value: largest(procs)! / MB };
      notes.push(`idle RSS, ${p.name}: ${describeProcs(procs)}`);
    }

    if (ctx) await bigTransfers(ctx, servers);

    log('writing fixtures…');
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

    // Checks before anything is timed: the 1 MiB file, and both PROPFINDs list 1,001 responses.
    const ok = { props: new Set<PeerName>(), all: new Set<PeerName>() };
    for (const p of servers) {
      try {
        const g = await fetchOnce(p.url + SMALL_GET.path);
        if (g.status !== 200 || g.body.length !== SMALL_GET.size) notes.push(`check, ${p.name}: GET ${SMALL_GET.path} gave ${g.status} with ${g.body.length} bytes`);
        if (FLOOR_PEERS.includes(p.name)) continue;
        for (const [kind, body] of [['props', PROPFIND_BODY], ['all', undefined]] as const) {
          const headers = body ? { Depth: '1', 'Content-Type': 'application/xml; charset=utf-8' } : { Depth: '1' };
          const pf = await fetchOnce(p.url + FOLDER.path, 'PROPFIND', headers, body);
          const n = countResponses(pf.body.toString('utf8'));
          if (pf.status === 207 && n === FOLDER.members + 1) ok[kind].add(p.name);
          else notes.push(`check, ${p.name}: PROPFIND Depth 1 (${kind === 'all' ? 'allprop' : 'bench props'}) on ${FOLDER.path} gave ${pf.status} with ${n} responses (want 207 with ${FOLDER.members + 1}); not measured`);
        }
      } catch (err) {
        notes.push(`check, ${p.name}: ${(err as Error).message}`);
      }
    }

    await measure(R.get1, servers, async (p) => {
      const spec = { url: p.url + SMALL_GET.path, threads: 2, connections: 16, seconds };
      return rateCell(R.get1.label, p, await loadRun(p, spec));
    });

    await measure(R.get100, servers, async (p) => {
      await downloads(p.url + LARGE_GET.path, 1, LARGE_GET.size);
      const r = await downloads(p.url + LARGE_GET.path, DOWNLOADS, LARGE_GET.size);
      if (r.errors) notes.push(`${R.get100.label}, ${p.name}: ${r.errors} downloads were short or not 200`);
      return r.errors === DOWNLOADS ? { note: 'failed' } : { value: r.bytesPerSecond / MB };
    });

    for (const [r, one, kind, body] of [[R.propfind, R.oneProps, 'props', PROPFIND_BODY], [R.allprop, R.oneAll, 'all', undefined]] as const) {
      const headers: Record<string, string> = body ? { Depth: '1', 'Content-Type': 'application/xml; charset=utf-8' } : { Depth: '1' };
      await measure(r, davServers, async (p) => {
        if (!ok[kind].has(p.name)) return { note: 'n/a' };
        const spec = { url: p.url + FOLDER.path, method: 'PROPFIND', headers, body, threads: 2, connections: 16, seconds };
        return rateCell(r.label, p, await loadRun(p, spec));
      });
      await measure(one, davServers, async (p) => {
        if (!ok[kind].has(p.name)) return { note: 'n/a' };
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        try {
          const times: number[] = [];
          for (let i = 0; i <= ALONE; i++) {
            const t = await timedRequest(agent, p.url + FOLDER.path, 'PROPFIND', headers, body);
            if (t.status !== 207) throw new Error(`PROPFIND answered ${t.status}`);
            if (i > 0) times.push(t.totalMs);
          }
          return { value: median(times) };
        } finally {
          agent.destroy();
        }
      });
    }

    if (ctx) await writeStages(ctx);

    for (const p of peers) {
      R.runRss.cells[p.name] = { value: whole.get(p.name)!.stop() / MB };
      const procs = perProc.get(p.name)!.stop();
      R.peak.cells[p.name] = { value: largest(procs)! / MB };
      notes.push(`peak RSS over the section, ${p.name}: ${describeProcs(procs)}`);
    }
    const checks = ctx ? await writeChecks(ctx, spawned) : [];

    const running = new Set(peers.map((p) => p.name));
    const nginx = missing.nginx ? `n/a (${missing.nginx})` : version('/usr/sbin/nginx', ['-v'], /nginx\/(\S+)/) + ' (dav + dav_ext, worker_processes auto)';
    const apache = missing.apache ? `n/a (${missing.apache})` : version('/usr/sbin/apache2', ['-v'], /Apache\/(\S+)/) + ' (mod_dav_fs, mpm_event)';
    const out: string[] = [];
    out.push(`WebDAV: node ${process.version}, ${cpus().length} CPUs, git ${version('git', ['--version'], /version (\S+)/)}, everything on 127.0.0.1`);
    out.push(`gitdav fs ×${BENCH_WORKERS} / gitdav git ×${BENCH_WORKERS}: folder / git backend as \`gitdav serve\` starts them by default (--workers ${BENCH_WORKERS}: a supervisor and a worker per CPU); gitdav fs / gitdav git: --workers 1; git, commit/PUT: git backend with maxBatch 1; nginx ${nginx}; apache ${apache}`);
    if (running.has('floor') || running.has('floorBest')) out.push(`node floor / node best ×${BENCH_WORKERS}: bare Node serving the same files with node:cluster (bench/node-floor.ts): floor = createReadStream().pipe(res); best = synchronous reads into one reused buffer per response (backends/util/file-body.ts, what gitdav's GET bodies use now). GET rows and RSS only.`);
    out.push(`MB = 10^6 bytes. Ratios are A ÷ B: above 1× is better for rates, worse for ms and RSS. The bench's props: ${PROPFIND_PROPS.join(', ')}. – = not measured for that server.`);
    out.push(`load average (1 min) during the section: ${load.length ? `${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}` : 'n/a'}`);
    if (tableRan('issue', running)) out.push('', '### gitdav (a worker per CPU, the default) vs nginx vs Apache', '', renderTable('issue', rows, running));
    const oneProcess = ['gitdav', 'git', 'baseline'].some((n) => running.has(n as PeerName));
    if (oneProcess && tableRan('peers', running)) out.push('', '### gitdav (folder backend) vs nginx vs Apache', '', renderTable('peers', rows, running));
    if (oneProcess && tableRan('git', running)) out.push('', '### git backend vs commit-per-PUT baseline vs folder backend vs nginx', '', renderTable('git', rows, running));
    if (checks.length) out.push('', ...checks.map((c) => c.text));
    out.push(
      '',
      'RSS: "largest process" is the highest VmHWM/VmRSS of any one process of the server (gitdav ×N: the supervisor or a worker; nginx and Apache: master or a worker), ' +
        'sampled every 250 ms from start (native git processes excluded); "sum" adds VmRSS over the tree (shared pages counted in each).',
    );
    if (notes.length) out.push('', 'Notes:', ...notes.map((n) => `- ${n}`));

    const figures = figuresOf(
      [['get1', R.get1], ['get100', R.get100], ['propfindProps', R.propfind], ['propfindAllprop', R.allprop], ['oneProps', R.oneProps], ['oneAllprop', R.oneAll], ['idleRss', R.idle], ['webdavPeakRss', R.peak]],
      Object.entries(TARGET_PEER) as [PeerName, Who][],
    );
    return { lines: out, pass: !checks.some((c) => !c.pass), figures };
  } finally {
    clearInterval(loadTimer);
    for (const s of whole.values()) s.stop();
    for (const s of perProc.values()) s.stop();
    for (const w of spawned.values()) w.stop();
    await stopAll();
    removeTempDirs();
  }
}
