/**
 * `npm run bench`: gitdav (folder backend) against nginx and Apache, side by side in one run, every
 * server on its own 127.0.0.1 port and temp data dir; prints one table. Servers that are missing or
 * fail to start show as n/a. Every server is stopped at the end, on errors and on SIGINT.
 *
 * BENCH_SECONDS (default 10) sets the length of the load runs; BENCH_PEERS=gitdav,nginx picks servers;
 * BENCH_NO_WRK=1 / BENCH_NO_CURL=1 use the Node client loops instead of wrk / curl.
 */
import { rmSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { spawnSync } from 'node:child_process';
import { BIG, FOLDER, LARGE_GET, PROPFIND_BODY, PROPFIND_PROPS, PUT_DIR, SMALL_GET, countResponses, writeFixtures } from './fixtures.js';
import { downloads, fetchOnce, hasCurl, hasWrk, runLoad, sequentialPuts, streamedPut, type RateResult } from './load.js';
import { STARTERS, type Peer, type PeerName } from './peers.js';
import { installSignalHandlers, peakRss, removeTempDirs, resetPeakRss, sampleRss, stopAll } from './proc.js';

const ORDER: PeerName[] = ['gitdav', 'nginx', 'apache'];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const DOWNLOADS = 5;
const PUTS = 1000;
const PUT_SIZE = 1024;
const RSS_LIMIT = 150e6;
const MB = 1e6;

interface Cell {
  value?: number;
  note?: string;
}
interface Row {
  label: string;
  /** Digits after the point. */
  digits: number;
  cells: Partial<Record<PeerName, Cell>>;
}

const rows: Row[] = [];
const notes: string[] = [];
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

function row(label: string, digits = 0): Row {
  const r: Row = { label, digits, cells: {} };
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

function fmt(c: Cell | undefined, digits: number): string {
  if (!c || c.value === undefined) return c?.note ?? 'n/a';
  return c.value.toFixed(digits) + (c.note ? ` (${c.note})` : '');
}

function ratio(a: Cell | undefined, b: Cell | undefined): string {
  if (a?.value === undefined || b?.value === undefined || b.value === 0) return 'n/a';
  return `${(a.value / b.value).toFixed(2)}×`;
}

function table(): string {
  const header = ['metric', 'gitdav', 'nginx', 'apache', 'gitdav/nginx', 'gitdav/apache'];
  const body = rows.map((r) => [
    r.label,
    fmt(r.cells.gitdav, r.digits),
    fmt(r.cells.nginx, r.digits),
    fmt(r.cells.apache, r.digits),
    ratio(r.cells.gitdav, r.cells.nginx),
    ratio(r.cells.gitdav, r.cells.apache),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 1) + '-' : '-'.repeat(w + 1) + ':')).join('|') + '|';
  return [line(header), rule, ...body.map(line)].join('\n');
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
const R = {
  get1: row(`GET 1 MiB, req/s (${loadTool})`),
  get100: row(`GET 100 MiB, MB/s (${DOWNLOADS} sequential, ${hasCurl ? 'curl' : 'Node client'})`),
  propfind: row(`PROPFIND Depth 1, ${FOLDER.members} members, req/s (${hasWrk ? 'wrk -t2 -c16, Lua script' : 'Node loop, 16 keep-alive clients'})`),
  puts: row(`${PUTS} sequential ${PUT_SIZE} B PUTs (keep-alive), PUT/s`),
  bigPut: row('PUT 1 GiB (streamed from a generator), MB/s'),
  bigGet: row(`GET 1 GiB, MB/s (${hasCurl ? 'curl' : 'Node client'})`),
  bigRss: row('peak RSS during the 1 GiB PUT + GET, MB', 1),
  runRss: row('peak RSS over the whole run, MB', 1),
};

/** 1 GiB PUT then GET, each server's memory watched; runs first, on freshly started servers. */
async function bigTransfers(peers: Peer[]): Promise<boolean> {
  let gitdavHwmReset = false;
  for (const p of peers) {
    const reset = p.name === 'gitdav' && resetPeakRss(p.pid);
    if (p.name === 'gitdav') gitdavHwmReset = reset;
    const sampler = sampleRss(p.pid, 50);
    try {
      const up = await streamedPut(p.url + BIG.path, BIG.size);
      const stored = statSync(p.dataDir + BIG.path).size;
      if (up.errors || stored !== BIG.size) throw new Error(`PUT answered ${up.status}, ${stored} bytes stored`);
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
    rmSync(p.dataDir + BIG.path, { force: true });
  }
  return gitdavHwmReset;
}

async function main(): Promise<void> {
  installSignalHandlers();
  const began = Date.now();
  const { peers, missing } = await startPeers();
  if (!peers.some((p) => p.name === 'gitdav')) throw new Error(`gitdav did not start: ${missing.gitdav ?? 'unknown reason'}`);
  const whole = new Map(peers.map((p) => [p.name, sampleRss(p.pid, 250)]));
  try {
    log('writing fixtures…');
    writeFixtures(peers.map((p) => p.dataDir));
    for (const p of peers) p.fixOwnership();
    const { propfindOk } = await check(peers);

    // 5 first: the streaming memory of a fresh process, before other loads have grown its heap.
    const hwmReset = await bigTransfers(peers);

    // 1. GET 1 MiB.
    await measure(R.get1, peers, async (p) => {
      const spec = { url: p.url + SMALL_GET.path, threads: 2, connections: 16, seconds: SECONDS };
      await runLoad({ ...spec, seconds: WARMUP_SECONDS });
      return rateCell(R.get1.label, p, await runLoad(spec));
    });

    // 2. GET 100 MiB.
    await measure(R.get100, peers, async (p) => {
      await downloads(p.url + LARGE_GET.path, 1, LARGE_GET.size);
      const r = await downloads(p.url + LARGE_GET.path, DOWNLOADS, LARGE_GET.size);
      if (r.errors) notes.push(`${R.get100.label}, ${p.name}: ${r.errors} downloads were short or not 200`);
      return r.errors === DOWNLOADS ? { note: 'failed' } : { value: r.bytesPerSecond / MB };
    });

    // 3. PROPFIND Depth 1 on 1,000 members.
    await measure(R.propfind, peers, async (p) => {
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

    // 4. 1,000 sequential small PUTs.
    await measure(R.puts, peers, async (p) => rateCell(R.puts.label, p, await sequentialPuts(p.url + PUT_DIR, PUTS, PUT_SIZE)));

    for (const p of peers) {
      const sampled = whole.get(p.name)!.stop();
      const hwm = p.name === 'gitdav' ? peakRss(p.pid) : undefined;
      R.runRss.cells[p.name] = { value: Math.max(sampled, hwm ?? 0) / MB };
    }

    const gitdavRss = R.bigRss.cells.gitdav?.value;
    const pass = gitdavRss !== undefined && gitdavRss * MB < RSS_LIMIT && R.bigPut.cells.gitdav?.value !== undefined && R.bigGet.cells.gitdav?.value !== undefined;
    const out: string[] = [];
    out.push(`gitdav benchmark, ${new Date().toISOString()}; node ${process.version}, ${cpus().length} CPUs, everything on 127.0.0.1`);
    out.push(
      `gitdav: folder backend; nginx ${missing.nginx ? `n/a (${missing.nginx})` : version('/usr/sbin/nginx', ['-v'], /nginx\/(\S+)/) + ' (dav + dav_ext)'}; ` +
        `apache ${missing.apache ? `n/a (${missing.apache})` : version('/usr/sbin/apache2', ['-v'], /Apache\/(\S+)/) + ' (mod_dav_fs, mpm_event)'}`,
    );
    out.push(`MB = 10^6 bytes. Ratios are gitdav ÷ peer: above 1× is better for rates, worse for RSS. PROPFIND asks for ${PROPFIND_PROPS.join(', ')}.`);
    out.push('');
    out.push(table());
    out.push('');
    out.push(
      `gitdav peak RSS during the 1 GiB PUT + GET: ${gitdavRss === undefined ? 'n/a' : gitdavRss.toFixed(1) + ' MB'} ` +
        `(${hwmReset ? 'VmHWM reset just before the PUT, and VmRSS sampled every 50 ms' : 'VmRSS sampled every 50 ms'}), ` +
        `limit 150 MB: ${pass ? 'PASS' : 'FAIL'}`,
    );
    out.push(
      'RSS of nginx and Apache is the sum of VmRSS over the master and its workers (shared pages counted in each). ' +
        'Whole-run RSS is sampled every 250 ms (gitdav: and VmHWM); the 1 GiB stage runs first, on fresh processes.',
    );
    if (notes.length) out.push('', 'Notes:', ...notes.map((n) => `- ${n}`));
    out.push('', `total time ${((Date.now() - began) / 1000).toFixed(0)} s`);
    process.stdout.write(out.join('\n') + '\n');
    if (!pass) process.exitCode = 1;
  } finally {
    for (const s of whole.values()) s.stop();
    await stopAll();
    removeTempDirs();
  }
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  await stopAll();
  removeTempDirs();
  process.exit(1);
});
