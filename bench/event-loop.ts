/**
 * Does the event loop stay free? (issue 12, item 5.) Starts the real server (`node dist/lib/cli.js
 * serve`, one process) on each backend with a 10,000-event calendar (bench/caldav-data.ts), then:
 *
 * 1. alone: small GETs (1 KiB) on one keep-alive connection for a few seconds — their latency and the
 *    server's event-loop delay at rest;
 * 2. each heavy request alone, one after another, with the event-loop delay while it ran: the first
 *    calendar-query after start (every object parsed and indexed), the queries, PROPFIND, sync, PUT;
 * 3. under load, all at once for BENCH_EVLOOP_SECONDS (every loop runs at least one round):
 *    calendar-queries over the whole
 *    calendar (a month's time-range and none; with and without expand), 100 MB PUTs, PROPFIND Depth 1
 *    and sync-collection of the calendar (10,000 members), and on another connection the same small GETs.
 *
 * The delay is measured inside the server by a preload (bench/event-loop-probe.ts, perf_hooks),
 * reset and read over IPC per phase. BENCH_EVLOOP_PROFILE=1 runs the server under `node --cpu-prof`
 * and prints its top self-time functions and long busy stretches (bench/cpu-profile.ts).
 * Knobs: BENCH_EVLOOP_BACKENDS=fs,git, BENCH_EVLOOP_EVENTS (10,000), BENCH_EVLOOP_SECONDS (30),
 * BENCH_EVLOOP_PUT_MB (100), BENCH_EVLOOP_ARGS (extra `serve` arguments, e.g. a --config).
 * Run: `npm run build && node dist/bench/event-loop.js`.
 */
import { Agent, request } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCalendar } from './caldav-data.js';
import { AUTH, keepAlive, mkcalendarBody, reportHeaders, send } from './caldav-http.js';
import { gitFill, writeAll } from './caldav-servers.js';
import { cleanEnv } from './peers.js';
import { freePort, installSignalHandlers, makeTempDir, removeTempDir, startTracked, stopTracked, waitForPort, type Tracked } from './proc.js';
import type { ProbeReading } from './event-loop-probe.js';
import { formatProfile, summarizeProfile } from './cpu-profile.js';

const EVENTS = Number(process.env.BENCH_EVLOOP_EVENTS ?? 10_000);
const SECONDS = Number(process.env.BENCH_EVLOOP_SECONDS ?? 30);
const PUT_MB = Number(process.env.BENCH_EVLOOP_PUT_MB ?? 100);
const ALONE_SECONDS = 5;
const PROFILE = process.env.BENCH_EVLOOP_PROFILE === '1';
const BACKENDS = (process.env.BENCH_EVLOOP_BACKENDS ?? 'fs,git').split(',').filter((b): b is 'fs' | 'git' => b === 'fs' || b === 'git');
const EXTRA_ARGS = (process.env.BENCH_EVLOOP_ARGS ?? '').split(' ').filter(Boolean);
/** Pause between two small GETs: a latency probe, not a load of its own. */
const GET_GAP_MS = 5;
/** For one-off requests: Node's global agent keeps sockets alive, and reusing one the server closed meanwhile fails. */
const once = () => new Agent({ keepAlive: false });

const icsUtc = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
const MONTH = { start: Date.UTC(2026, 2, 1), end: Date.UTC(2026, 3, 1) };
const ALL = { start: Date.UTC(2024, 0, 1), end: Date.UTC(2028, 0, 1) };

/** A calendar-query body: `range` filters by time-range (or not), `expand` expands over it (or not). */
function query(range: { start: number; end: number } | null, expand: { start: number; end: number } | null): string {
  const data = expand ? `<C:calendar-data><C:expand start="${icsUtc(expand.start)}" end="${icsUtc(expand.end)}"/></C:calendar-data>` : '<C:calendar-data/>';
  const tr = range ? `<C:time-range start="${icsUtc(range.start)}" end="${icsUtc(range.end)}"/>` : '';
  return `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/>${data}</D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">${tr}</C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>`;
}

const QUERIES: { name: string; body: string }[] = [
  { name: 'query month', body: query(MONTH, null) },
  { name: 'query all', body: query(null, null) },
  { name: 'query month, expand', body: query(MONTH, MONTH) },
  { name: 'query all, expand 2024–2027', body: query(null, ALL) },
];

const PROPFIND = `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/><D:getcontenttype/></D:prop></D:propfind>`;
const SYNC = `<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`;

interface Server {
  url: string;
  t: Tracked;
  base: string;
  profileDir: string;
  dataDir: string;
}

async function start(backend: 'fs' | 'git'): Promise<Server> {
  const cli = fileURLToPath(new URL('../lib/cli.js', import.meta.url));
  const probe = fileURLToPath(new URL('./event-loop-probe.js', import.meta.url));
  if (!existsSync(cli)) throw new Error(`${cli} is missing (build first)`);
  const base = makeTempDir(`evloop-${backend}`);
  const dataDir = join(base, backend === 'git' ? 'repo' : 'data');
  if (backend === 'fs') mkdirSync(dataDir);
  const profileDir = join(base, 'profile');
  const port = await freePort();
  const node = ['--import', probe, ...(PROFILE ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])];
  const args = [...node, cli, 'serve', '--backend', backend, '--root', dataDir, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error', ...EXTRA_ARGS];
  const t = startTracked(`evloop-${backend}`, process.execPath, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  await waitForPort(port, t, 30_000);
  // The port is taken before the server is ready; until then it answers 503 "starting".
  for (let i = 0; i < 300; i++) {
    const r = await send(once(), `http://127.0.0.1:${port}/`, 'OPTIONS');
    if (r.status !== 503) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return { url: `http://127.0.0.1:${port}`, t, base, profileDir, dataDir };
}

function probe(s: Server, what: 'reset' | 'read'): Promise<ProbeReading | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the probe in the server did not answer (is the preload loaded?)')), 60_000);
    const on = (m: unknown) => {
      if (what === 'reset' ? m === 'evloop:reset-done' : typeof m === 'object' && m !== null && 'evloop' in m) {
        clearTimeout(timer);
        s.t.child.off('message', on);
        resolve(what === 'read' ? (m as { evloop: ProbeReading }).evloop : null);
      }
    };
    s.t.child.on('message', on);
    s.t.child.send(`evloop:${what}`);
  });
}

/** PUT of `mb` MB streamed in 1 MiB chunks (nothing held but one chunk). */
function bigPut(url: string, mb: number): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const total = mb * 1_000_000;
    const req = request(url, { method: 'PUT', agent: once(), headers: { Authorization: AUTH, 'Content-Length': total, 'Content-Type': 'application/octet-stream' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(1 << 20, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

/**
 * Small GETs on their own connection, in a worker thread of the bench (its own event loop: the main
 * thread's work on big answers and the PUT's chunks does not count as server latency), until the
 * main thread posts 'stop' (at once when `until` is already true); latencies in ms.
 */
function getLoopThread(url: string, until: () => boolean): Promise<number[]> {
  const w = new Worker(new URL(import.meta.url), { workerData: { url } });
  const timer = setInterval(() => until() && w.postMessage('stop'), 20);
  return new Promise<number[]>((resolve, reject) => {
    w.once('message', (ms: number[]) => resolve(ms));
    w.once('error', reject);
  }).finally(() => {
    clearInterval(timer);
    void w.terminate();
  });
}

/** Small GETs on their own connection until `until()` says stop; latencies in ms. */
async function getLoop(url: string, until: () => boolean): Promise<number[]> {
  const agent = keepAlive();
  const ms: number[] = [];
  try {
    while (!until()) {
      const r = await send(agent, url, 'GET');
      if (r.status !== 200) throw new Error(`GET ${url}: ${r.status}`);
      ms.push(r.ms);
      await new Promise((res) => setTimeout(res, GET_GAP_MS));
    }
  } finally {
    agent.destroy();
  }
  return ms;
}

function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');

async function runBackend(backend: 'fs' | 'git'): Promise<string[]> {
  const out: string[] = [];
  const s = await start(backend);
  try {
    const agent = keepAlive();
    const cal = `${s.url}/calendars/user/big/`;
    const mk = await send(agent, cal, 'MKCALENDAR', { 'Content-Type': 'application/xml; charset=utf-8' }, mkcalendarBody('big'));
    if (mk.status !== 201) throw new Error(`MKCALENDAR: ${mk.status} ${mk.body.slice(0, 200)}`);
    const items = generateCalendar(EVENTS).map((e) => ({ name: e.name, body: e.ics }));
    // Straight into storage (untimed): the load, not the upload, is measured here.
    if (backend === 'fs') writeAll(join(s.dataDir, 'calendars', 'user', 'big'), items);
    else gitFill(s.dataDir, 'calendars/user/big', items);
    agent.destroy(); // the fill may outlast the server's keep-alive timeout: a fresh connection
    const small = `${s.url}/small.txt`;
    const put = await send(once(), small, 'PUT', { 'Content-Type': 'text/plain' }, 'x'.repeat(1024));
    if (put.status !== 201 && put.status !== 204) throw new Error(`PUT small: ${put.status}`);
    await send(once(), small, 'GET');

    // 1. Small GETs alone.
    const la0 = loadavg()[0]!;
    await probe(s, 'reset');
    const aloneEnd = Date.now() + ALONE_SECONDS * 1000;
    const alone = await getLoopThread(small, () => Date.now() >= aloneEnd);
    const restDelay = (await probe(s, 'read'))!;

    // 2. Each heavy request alone: how long it takes and how long it holds the server's event loop.
    const each: string[] = [];
    const alone1 = async (name: string, run: () => Promise<{ status: number; ms: number }>) => {
      await probe(s, 'reset');
      const r = await run();
      const d = (await probe(s, 'read'))!;
      each.push(`| ${name} | ${r.status} | ${f0(r.ms)} | ${f1(d.p99)} | ${f1(d.max)} |`);
    };
    {
      const a = keepAlive();
      const report = (body: string) => () => send(a, cal, 'REPORT', reportHeaders('1'), body, 600_000);
      await alone1('first calendar-query after start (month; every object parsed and indexed)', report(QUERIES[0]!.body));
      for (const q of QUERIES) await alone1(q.name, report(q.body));
      await alone1('PROPFIND Depth 1 of the calendar (10,001 responses)', () => send(a, cal, 'PROPFIND', { Depth: '1', 'Content-Type': 'application/xml; charset=utf-8' }, PROPFIND, 600_000));
      await alone1('sync-collection, no token', report(SYNC));
      await alone1(`PUT ${PUT_MB} MB`, () => bigPut(`${s.url}/big.bin`, PUT_MB));
      a.destroy();
    }

    // 3. Everything at once.
    await probe(s, 'reset');
    const loadEnd = Date.now() + SECONDS * 1000;
    const times = new Map<string, number[]>();
    const note = (k: string, ms: number) => times.set(k, [...(times.get(k) ?? []), ms]);
    const errors: string[] = [];
    let heavyDone = 0;
    const HEAVY = 3;
    const done = () => heavyDone >= HEAVY && Date.now() >= loadEnd;
    const loads: number[] = [];
    const la = setInterval(() => loads.push(loadavg()[0]!), 1000);
    const heavy = async (body: () => Promise<void>) => {
      let first = true;
      while (first || Date.now() < loadEnd) {
        first = false;
        await body().catch((err: unknown) => void errors.push((err as Error).message));
      }
      heavyDone++;
    };
    const reportLoop = async () => {
      const a = keepAlive();
      await heavy(async () => {
        for (const q of QUERIES) {
          const r = await send(a, cal, 'REPORT', reportHeaders('1'), q.body, 600_000);
          if (r.status !== 207) throw new Error(`${q.name}: ${r.status} ${r.body.slice(0, 200)}`);
          note(q.name, r.ms);
        }
      });
      a.destroy();
    };
    const putLoop = () =>
      heavy(async () => {
        const r = await bigPut(`${s.url}/big.bin`, PUT_MB);
        if (r.status !== 201 && r.status !== 204) throw new Error(`PUT ${PUT_MB} MB: ${r.status}`);
        note(`PUT ${PUT_MB} MB`, r.ms);
      });
    const listLoop = async () => {
      const a = keepAlive();
      await heavy(async () => {
        const p = await send(a, cal, 'PROPFIND', { Depth: '1', 'Content-Type': 'application/xml; charset=utf-8' }, PROPFIND, 600_000);
        if (p.status !== 207) throw new Error(`PROPFIND: ${p.status}`);
        note('PROPFIND Depth 1 (10,001 responses)', p.ms);
        const y = await send(a, cal, 'REPORT', reportHeaders('1'), SYNC, 600_000);
        if (y.status !== 207) throw new Error(`sync-collection: ${y.status}`);
        note('sync-collection, no token', y.ms);
      });
      a.destroy();
    };
    const [underLoad] = await Promise.all([getLoopThread(small, done), reportLoop(), putLoop(), listLoop()]);
    clearInterval(la);
    const loadDelay = (await probe(s, 'read'))!;

    out.push(`### ${backend === 'fs' ? 'folder' : 'git'} backend (${EVENTS.toLocaleString('en')} events, ${SECONDS} s of load)`, '');
    out.push('| | p50 | p99 | max | samples |', '|---|---:|---:|---:|---:|');
    out.push(`| event-loop delay at rest, ms | ${f1(restDelay.p50)} | ${f1(restDelay.p99)} | ${f1(restDelay.max)} | ${restDelay.samples} |`);
    out.push(`| event-loop delay under load, ms | ${f1(loadDelay.p50)} | ${f1(loadDelay.p99)} | ${f1(loadDelay.max)} | ${loadDelay.samples} |`);
    out.push(`| small GET alone, ms | ${f1(pct(alone, 50))} | ${f1(pct(alone, 99))} | ${f1(Math.max(...alone))} | ${alone.length} |`);
    out.push(`| small GET under load, ms | ${f1(pct(underLoad, 50))} | ${f1(pct(underLoad, 99))} | ${f1(Math.max(...underLoad))} | ${underLoad.length} |`);
    for (const [k, v] of times) out.push(`| ${k}, ms | ${f0(pct(v, 50))} | ${f0(pct(v, 99))} | ${f0(Math.max(...v))} | ${v.length} |`);
    out.push('', 'Each alone (one request at a time, nothing else running):', '', '| request | status | ms | event-loop delay p99, ms | max, ms |', '|---|---:|---:|---:|---:|', ...each);
    out.push('', `load average (1 min): ${f1(la0)} before, ${f1(Math.min(...loads))}–${f1(Math.max(...loads))} under load`);
    if (errors.length) out.push(`errors: ${errors.slice(0, 5).join('; ')}${errors.length > 5 ? ` (+${errors.length - 5})` : ''}`);
  } finally {
    await stopTracked(s.t, 60_000);
    if (PROFILE) {
      const files = existsSync(s.profileDir) ? readdirSync(s.profileDir).filter((f) => f.endsWith('.cpuprofile')) : [];
      if (files[0]) out.push('', '```', ...formatProfile(summarizeProfile(join(s.profileDir, files[0]))), '```');
      else out.push('', '(no CPU profile was written)');
    }
    removeTempDir(s.base);
  }
  return out;
}

async function main(): Promise<void> {
  installSignalHandlers();
  console.log(`Event-loop bench, ${new Date().toISOString()}; node ${process.version}, ${cpus().length} CPUs; server: one process${EXTRA_ARGS.length ? `, ${EXTRA_ARGS.join(' ')}` : ''}${PROFILE ? ', under --cpu-prof' : ''}.\n`);
  for (const b of BACKENDS) console.log((await runBackend(b)).join('\n') + '\n');
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  let stop = false;
  parentPort!.on('message', () => (stop = true));
  void getLoop((workerData as { url: string }).url, () => stop).then((ms) => parentPort!.postMessage(ms));
}
