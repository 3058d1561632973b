/** `gitdav serve --workers N` as a real process, its log read as JSON lines (test/workers/). */
import { request, Agent, type IncomingHttpHeaders } from 'node:http';
import { execFileSync } from 'node:child_process';
import { killCliProcesses, runCli, type CliProcess } from '../helpers/cli.js';

export interface Served extends Omit<CliProcess, 'url'> {
  url: string;
  /** The supervisor's pid. */
  pid: number;
  /** Every JSON log record so far. */
  records(): Record<string, unknown>[];
  /** Resolves with the first record (from `after` on) that `match` accepts; fails if the process exits first. */
  waitFor(match: (r: Record<string, unknown>) => boolean, after?: number): Promise<Record<string, unknown>>;
  /** Pids of the worker processes now. */
  workerPids(): number[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function serveWorkers(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Served> {
  const p = runCli(['serve', '--port', '0', ...args], env, cwd);
  const url = await p.url;
  const records = () =>
    p
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const waitFor = (match: (r: Record<string, unknown>) => boolean, after = 0) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const look = () => {
        const found = records().slice(after).find(match);
        if (found) {
          clearInterval(timer);
          resolve(found);
        }
      };
      const timer = setInterval(look, 25);
      void p.exit.then(() => {
        look();
        clearInterval(timer);
        reject(new Error(`server exited while waiting:\n${p.output().slice(-4000)}`));
      });
      look();
    });
  return {
    ...p,
    url,
    pid: p.child.pid!,
    records,
    waitFor,
    workerPids: () => {
      try {
        return execFileSync('pgrep', ['-P', String(p.child.pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
      } catch {
        return [];
      }
    },
    async stop(signal = 'SIGTERM') {
      p.child.kill(signal);
      return p.exit;
    },
  };
}

export interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request; `agent` decides keep-alive. Rejects on a network error (a reset, a refused connection). */
export function http(url: string, path: string, options: { method?: string; body?: string | Buffer; headers?: Record<string, string>; agent?: Agent; ca?: Buffer } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url + '/'), { method: options.method ?? 'GET', headers: options.headers, agent: options.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Workers' ids in the request log lines. */
export function workersThatServed(records: Record<string, unknown>[]): Set<unknown> {
  return new Set(records.filter((r) => r.msg === 'request').map((r) => r.worker));
}

/** Stops the test's server after each test (a failed one too), and every CLI process still running. */
export function stopAfterEach(current: () => Served | undefined, forget: () => void): void {
  afterEach(async () => {
    const s = current();
    if (s) await s.stop();
    forget();
    killCliProcesses();
  });
}

/** A PUT of `length` bytes sent piece by piece: `write` waits for the socket to take each piece. */
export function startUpload(url: string, length: number): { write(chunk: Buffer): Promise<void>; end(): void; answered: Promise<number> } {
  const put = request(url, { method: 'PUT', headers: { 'Content-Length': length } });
  const answered = new Promise<number>((resolveStatus, reject) => {
    put.on('response', (res) => {
      res.resume();
      res.on('end', () => resolveStatus(res.statusCode!));
    });
    put.on('error', reject);
  });
  return {
    write: (chunk) => new Promise<void>((r) => (put.write(chunk) ? r() : put.once('drain', () => r()))),
    end: () => put.end(),
    answered,
  };
}
