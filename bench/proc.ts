/**
 * Child processes of the benchmark: every server we start is registered here, so that a normal end,
 * an exception, SIGINT/SIGTERM and even a plain `process.exit` stop it (and the workers it forked),
 * each by its own pid. Also reads memory figures from /proc.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createServer } from 'node:net';

export interface Tracked {
  name: string;
  child: ChildProcess;
  /** stdout + stderr, the last 8 KiB, for error messages. */
  output(): string;
  /** Resolves once the process has exited. */
  exited: Promise<number | null>;
}

const tracked = new Set<Tracked>();
const tempDirs = new Set<string>();

let tempRoot = '/tmp';

/**
 * Where new temp dirs go (default /tmp). The 100,000-file section uses a tmpfs (/dev/shm): on this
 * VM's ext4, under load, removing three such folders took minutes, on tmpfs seconds.
 */
export function setTempRoot(dir: string): void {
  tempRoot = dir;
}

/** A new dir TEMPROOT/gitdav-bench-LABEL-XXXXXX, removed by `removeTempDirs` (also on SIGINT). */
export function makeTempDir(label: string): string {
  const dir = mkdtempSync(`${tempRoot}/gitdav-bench-${label}-`);
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  // `rm -rf` first: for the 100,000-file folders it is several times faster than Node's recursive rmSync
  // (an lstat and an unlink per file from JS); rmSync finishes whatever rm could not.
  spawnSync('rm', ['-rf', '--', dir], { stdio: 'ignore', timeout: 600_000 });
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export function removeTempDirs(): void {
  for (const dir of tempDirs) removeTempDir(dir);
}

export function startTracked(name: string, command: string, args: string[], options: SpawnOptions = {}): Tracked {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (err) => {
      keep(Buffer.from(`spawn failed: ${err.message}\n`));
      resolve(null);
    });
  });
  const t: Tracked = { name, child, output: () => out, exited };
  tracked.add(t);
  void exited.then(() => tracked.delete(t));
  return t;
}

/** pid → [ppid, comm] for every process we can see. */
function processTable(): Map<number, { ppid: number; comm: string }> {
  const table = new Map<number, { ppid: number; comm: string }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may contain spaces and parentheses, so split at the last ')'.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      table.set(Number(name), { ppid, comm });
    } catch {
      // the process ended while we looked
    }
  }
  return table;
}

/** The pid and all its descendants, each with its command name. */
export function processTree(pid: number): { pid: number; comm: string }[] {
  const table = processTable();
  const result: { pid: number; comm: string }[] = [];
  const want = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [p, { ppid }] of table) {
      if (!want.has(p) && want.has(ppid)) {
        want.add(p);
        grew = true;
      }
    }
  }
  for (const p of want) {
    const info = table.get(p);
    if (info) result.push({ pid: p, comm: info.comm });
  }
  return result;
}

function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** SIGKILL each of these pids that still runs the same command (so a reused pid is left alone). */
function killRemaining(procs: { pid: number; comm: string }[]): void {
  for (const p of procs) {
    if (commOf(p.pid) === p.comm) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL the process and whatever it forked. */
export async function stopTracked(t: Tracked, graceMs = 5000): Promise<void> {
  const pid = t.child.pid;
  if (pid === undefined || t.child.exitCode !== null || t.child.signalCode !== null) {
    tracked.delete(t);
    return;
  }
  const tree = processTree(pid);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  await Promise.race([t.exited, timedOut]);
  clearTimeout(timer);
  // Workers may outlive a master that was killed hard; give them a moment, then make sure.
  await sleep(200);
  killRemaining(tree);
  tracked.delete(t);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...tracked].map((t) => stopTracked(t)));
}

/** Last resort on exit: synchronous, no waiting. */
function killAllNow(): void {
  for (const t of tracked) {
    const pid = t.child.pid;
    if (pid === undefined) continue;
    const tree = processTree(pid);
    killRemaining(tree);
  }
  tracked.clear();
  removeTempDirs();
}

let handlersInstalled = false;
/** Stop every tracked process on SIGINT/SIGTERM (then remove the temp dirs, exit 130/143) and on any exit. */
export function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllNow);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping servers…\n`);
      const hard = setTimeout(() => process.exit(code), 8000);
      void stopAll().finally(() => {
        clearTimeout(hard);
        try {
          removeTempDirs();
        } finally {
          process.exit(code);
        }
      });
    });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Waits until something accepts on 127.0.0.1:port, or the process exits, or the time is up. */
export async function waitForPort(port: number, t: Tracked, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void t.exited.then(() => {
    dead = true;
  });
  while (Date.now() < deadline) {
    if (dead) throw new Error(`${t.name} exited before listening: ${t.output().trim() || '(no output)'}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${t.name} did not listen on port ${port} within ${timeoutMs} ms: ${t.output().trim()}`);
}

function statusField(pid: number, field: string): number | undefined {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Sum of VmRSS over a process and its descendants, bytes. */
export function treeRss(pid: number): number {
  return processTree(pid).reduce((n, p) => n + (statusField(p.pid, 'VmRSS') ?? 0), 0);
}

/** VmHWM (peak RSS) of one process, bytes. */
export function peakRss(pid: number): number | undefined {
  return statusField(pid, 'VmHWM');
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0, `echo 5 > clear_refs`); false where not allowed. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Samples the RSS of a process tree every `intervalMs` until stopped; `stop()` returns the highest
 * sum seen. Sampling a whole tree walks /proc, so it costs a little CPU — the same for every server.
 */
export function sampleRss(pid: number, intervalMs = 50): { stop(): number } {
  let max = treeRss(pid);
  const timer = setInterval(() => {
    max = Math.max(max, treeRss(pid));
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      max = Math.max(max, treeRss(pid));
      return max;
    },
  };
}

/** One process of a server's tree and the highest RSS it was seen at (VmHWM, or VmRSS samples). */
export interface ProcPeak {
  pid: number;
  comm: string;
  /** The process the bench started (gitdav's supervisor with --workers N > 1, nginx's master…). */
  root: boolean;
  /** Bytes. */
  peak: number;
}

/** Native git (gc, repack…) that a server spawns is not the server's own memory. */
const isGit = (comm: string) => /^git(-|$)/.test(comm);

/**
 * Per-process peak RSS of a process tree: every `intervalMs`, VmHWM (and VmRSS) of each process, the
 * tree walked anew so workers that start later, or die, are counted. With `reset`, each process's
 * VmHWM is first set back to its current RSS (clear_refs; needs the right to write it), so the peak
 * is that of the period watched, not of the process's life.
 */
export function sampleProcesses(pid: number, intervalMs = 250, reset = false): { stop(): ProcPeak[]; current(): ProcPeak[] } {
  const peaks = new Map<number, ProcPeak>();
  const look = () => {
    for (const p of processTree(pid)) {
      if (isGit(p.comm)) continue;
      const v = Math.max(statusField(p.pid, 'VmHWM') ?? 0, statusField(p.pid, 'VmRSS') ?? 0);
      const old = peaks.get(p.pid);
      if (old) old.peak = Math.max(old.peak, v);
      else peaks.set(p.pid, { pid: p.pid, comm: p.comm, root: p.pid === pid, peak: v });
    }
  };
  if (reset) for (const p of processTree(pid)) if (!isGit(p.comm)) resetPeakRss(p.pid);
  look();
  const timer = setInterval(look, intervalMs);
  return {
    current: () => {
      look();
      return [...peaks.values()];
    },
    stop() {
      clearInterval(timer);
      look();
      return [...peaks.values()];
    },
  };
}

/** VmRSS of each process of a tree now (git excluded): the idle figure. */
export function processRss(pid: number): ProcPeak[] {
  return processTree(pid)
    .filter((p) => !isGit(p.comm))
    .map((p) => ({ pid: p.pid, comm: p.comm, root: p.pid === pid, peak: statusField(p.pid, 'VmRSS') ?? 0 }));
}

/** "supervisor 40.1, workers 45.2/47.0 MB" (or one process's figure); the largest is what a target compares. */
export function describeProcs(procs: ProcPeak[], MB = 1e6): string {
  const root = procs.find((p) => p.root);
  // A child with no RSS (a zombie not yet reaped) is no process to report.
  const rest = procs.filter((p) => !p.root && p.peak > 0).sort((a, b) => a.pid - b.pid);
  if (!rest.length) return root ? `${(root.peak / MB).toFixed(1)} MB (one process)` : 'n/a';
  return `${root ? `main ${(root.peak / MB).toFixed(1)}, ` : ''}children ${rest.map((p) => (p.peak / MB).toFixed(1)).join('/')} MB`;
}

/** utime + stime of a process tree (git included: work a server started), clock ticks. */
function treeCpu(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // ended while we looked
    }
  }
  return ticks;
}

/**
 * Waits (bounded) until a server's process tree has used under 5% of a CPU for half a second: wrk
 * ends with requests still in flight, and a slow server keeps working on them after the client has
 * gone; that backlog must not be timed as the next measurement. Returns the seconds waited.
 */
export async function waitIdle(pid: number, maxMs = 60_000): Promise<number> {
  const start = Date.now();
  let last = treeCpu(pid);
  while (Date.now() - start < maxMs) {
    await sleep(500);
    const now = treeCpu(pid);
    // 100 ticks per second on Linux: 5% of one CPU over 0.5 s is 2.5 ticks.
    if (now - last <= 2) break;
    last = now;
  }
  return (Date.now() - start) / 1000;
}
