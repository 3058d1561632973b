/**
 * The load loops: wrk when it is installed (fixed duration, keep-alive), else a Node loop with the
 * same number of keep-alive clients; sequential downloads and uploads with Node's http client
 * (keep-alive, no `Expect: 100-continue`). Every loop is bounded by a count or a deadline.
 */
import { createReadStream, existsSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { makeTempDir, removeTempDir, startTracked, stopTracked } from './proc.js';

export const WRK = '/usr/bin/wrk';
export const hasWrk = existsSync(WRK) && !process.env.BENCH_NO_WRK;
export const CURL = '/usr/bin/curl';
export const hasCurl = existsSync(CURL) && !process.env.BENCH_NO_CURL;

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request, the whole body kept; for checks, not for timing. */
export function fetchOnce(url: string, method = 'GET', headers: OutgoingHttpHeaders = {}, body?: string | Buffer): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: body === undefined ? headers : { 'Content-Length': Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** One request on the given agent; the body is counted and dropped. */
function exchange(
  agent: Agent,
  url: string,
  method: string,
  headers: OutgoingHttpHeaders,
  body?: Buffer | Readable,
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.setTimeout(120_000, () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on('error', reject);
    if (body instanceof Readable) {
      pipeline(body, req).catch(reject);
    } else {
      req.end(body);
    }
  });
}

export interface RateResult {
  /** Completed requests per second. */
  rate: number;
  requests: number;
  /** Responses outside 2xx, plus socket errors. */
  errors: number;
  tool: string;
}

export interface LoadSpec {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  threads: number;
  connections: number;
  seconds: number;
}

/** wrk with a Lua script for the method, headers and body. */
export async function runWrk(spec: LoadSpec): Promise<RateResult> {
  const dir = makeTempDir('wrk');
  try {
    const script = join(dir, 'req.lua');
    const lines = [`wrk.method = ${JSON.stringify(spec.method ?? 'GET')}`];
    for (const [k, v] of Object.entries(spec.headers ?? {})) lines.push(`wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
    if (spec.body !== undefined) lines.push(`wrk.body = ${luaLongString(spec.body)}`);
    writeFileSync(script, lines.join('\n') + '\n');
    const args = [`-t${spec.threads}`, `-c${spec.connections}`, `-d${spec.seconds}s`, '--timeout', '10s', '-s', script, spec.url];
    const t = startTracked('wrk', WRK, args);
    const killer = setTimeout(() => void stopTracked(t), (spec.seconds + 30) * 1000);
    const code = await t.exited;
    clearTimeout(killer);
    const out = t.output();
    const rps = out.match(/Requests\/sec:\s+([\d.]+)/);
    if (code !== 0 || !rps) throw new Error(`wrk failed (exit ${code}): ${out.trim()}`);
    const total = out.match(/(\d+) requests in/);
    const non2xx = Number(out.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0);
    const sock = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
    const sockErrors = sock ? sock.slice(1).reduce((n, x) => n + Number(x), 0) : 0;
    return { rate: Number(rps[1]), requests: Number(total?.[1] ?? 0), errors: non2xx + sockErrors, tool: `wrk -t${spec.threads} -c${spec.connections} -d${spec.seconds}s` };
  } finally {
    removeTempDir(dir);
  }
}

function luaLongString(s: string): string {
  let eq = '';
  while (s.includes(`]${eq}]`)) eq += '=';
  return `[${eq}[${s}]${eq}]`;
}

/** `connections` keep-alive clients, each sending its next request when the last one is answered. */
export async function runNodeLoop(spec: LoadSpec): Promise<RateResult> {
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
  const headers: OutgoingHttpHeaders = { ...(spec.headers ?? {}) };
  if (body) headers['Content-Length'] = body.length;
  const deadline = Date.now() + spec.seconds * 1000;
  let requests = 0;
  let errors = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: spec.connections }, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        while (Date.now() < deadline) {
          try {
            const r = await exchange(agent, spec.url, spec.method ?? 'GET', headers, body);
            requests++;
            if (r.status < 200 || r.status > 299) errors++;
          } catch {
            errors++;
          }
        }
      } finally {
        agent.destroy();
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { rate: requests / seconds, requests, errors, tool: `Node loop, ${spec.connections} keep-alive clients, ${spec.seconds}s` };
}

export function runLoad(spec: LoadSpec): Promise<RateResult> {
  return hasWrk ? runWrk(spec) : runNodeLoop(spec);
}

export interface ThroughputResult {
  /** Bytes per second over all transfers. */
  bytesPerSecond: number;
  bytes: number;
  errors: number;
}

/** `times` sequential GETs of one URL on one keep-alive connection; bodies are counted, not kept. */
export async function sequentialDownloads(url: string, times: number, expectedBytes: number): Promise<ThroughputResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let bytes = 0;
  let errors = 0;
  const start = process.hrtime.bigint();
  try {
    for (let i = 0; i < times; i++) {
      const r = await exchange(agent, url, 'GET', {});
      bytes += r.bytes;
      if (r.status !== 200 || r.bytes !== expectedBytes) errors++;
    }
  } finally {
    agent.destroy();
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { bytesPerSecond: bytes / seconds, bytes, errors };
}

/**
 * `times` sequential downloads with curl into /dev/null (a new connection each); curl's reading is
 * cheaper than Node's, so the client is less of a ceiling on fast servers.
 */
export async function curlDownloads(url: string, times: number, expectedBytes: number): Promise<ThroughputResult> {
  let bytes = 0;
  let seconds = 0;
  let errors = 0;
  for (let i = 0; i < times; i++) {
    const t = startTracked('curl', CURL, ['-s', '-o', '/dev/null', '--max-time', '120', '-w', '%{http_code} %{size_download} %{time_total}', url]);
    const code = await t.exited;
    const [status, size, time] = t.output().trim().split(' ').map(Number);
    if (code !== 0 || status !== 200 || size !== expectedBytes) errors++;
    bytes += size ?? 0;
    seconds += time ?? 0;
  }
  return { bytesPerSecond: seconds > 0 ? bytes / seconds : 0, bytes, errors };
}

/** Sequential downloads with curl when it is installed, else with Node's client. */
export function downloads(url: string, times: number, expectedBytes: number): Promise<ThroughputResult> {
  return hasCurl ? curlDownloads(url, times, expectedBytes) : sequentialDownloads(url, times, expectedBytes);
}

export interface PutManySpec {
  /** Folder URL without a trailing slash; file `i` goes to `${baseUrl}/${name(i)}`. */
  baseUrl: string;
  count: number;
  body: Buffer;
  /** Concurrent clients, each on its own keep-alive connection, each sending its next PUT when the last is answered. */
  clients: number;
  name?: (i: number) => string;
  /** Stop handing out new PUTs after this long (a bound on a very slow server); default 120 s. */
  maxSeconds?: number;
}

export interface PutManyResult extends RateResult {
  /** PUTs answered (all of `count` unless the time cap stopped the run). */
  done: number;
}

/** `count` PUTs of new files, shared among `clients` keep-alive clients; files per second. */
export async function putMany(spec: PutManySpec): Promise<PutManyResult> {
  const name = spec.name ?? ((i: number) => `file-${String(i).padStart(4, '0')}.txt`);
  const headers = { 'Content-Length': spec.body.length, 'Content-Type': 'text/plain' };
  const deadline = Date.now() + (spec.maxSeconds ?? 120) * 1000;
  let next = 0;
  let done = 0;
  let errors = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: spec.clients }, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        while (next < spec.count && Date.now() < deadline) {
          const i = next++;
          try {
            const r = await exchange(agent, `${spec.baseUrl}/${name(i)}`, 'PUT', headers, spec.body);
            if (r.status !== 201 && r.status !== 204) errors++;
          } catch {
            errors++;
          }
          done++;
        }
      } finally {
        agent.destroy();
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { rate: done / seconds, requests: done, done, errors, tool: `Node, ${spec.clients} keep-alive connection(s)` };
}

/** `count` sequential PUTs of small new files on one keep-alive connection; files per second. */
export function sequentialPuts(baseUrl: string, count: number, size: number): Promise<PutManyResult> {
  return putMany({ baseUrl, count, body: Buffer.alloc(size, 'x'), clients: 1 });
}

/** One PUT of a file from disk, streamed, with Content-Length; for uploading fixtures. */
export async function putFile(url: string, file: string): Promise<number> {
  const agent = new Agent({ keepAlive: false, maxSockets: 1 });
  try {
    const size = statSync(file).size;
    const r = await exchange(agent, url, 'PUT', { 'Content-Length': size, 'Content-Type': 'application/octet-stream' }, createReadStream(file));
    return r.status;
  } finally {
    agent.destroy();
  }
}

/** Yields `total` bytes in `chunk`-sized pieces, a counter stamped in each so no two are alike. */
async function* generated(total: number, chunk = 1 << 20): AsyncGenerator<Buffer> {
  let sent = 0;
  let n = 0;
  while (sent < total) {
    const size = Math.min(chunk, total - sent);
    const buf = Buffer.allocUnsafe(size).fill(0x61 + (n % 26));
    buf.writeUInt32BE(n++ >>> 0, 0);
    sent += size;
    yield buf;
  }
}

/** One PUT of `total` generated bytes, streamed (never held in memory), with Content-Length. */
export async function streamedPut(url: string, total: number): Promise<ThroughputResult & { status: number }> {
  const agent = new Agent({ keepAlive: false, maxSockets: 1 });
  const start = process.hrtime.bigint();
  try {
    const r = await exchange(agent, url, 'PUT', { 'Content-Length': total, 'Content-Type': 'application/octet-stream' }, Readable.from(generated(total)));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { bytesPerSecond: total / seconds, bytes: total, errors: r.status === 201 || r.status === 204 ? 0 : 1, status: r.status };
  } finally {
    agent.destroy();
  }
}

export interface Timed {
  status: number;
  /** From sending the request to the first body byte (or the end, for an empty body), ms. */
  ttfbMs: number;
  /** From sending to the last byte, ms. */
  totalMs: number;
  bytes: number;
  /** Occurrences of `count` in the body, counted as it streams (the body is not kept). */
  matches: number;
  /** The first MiB of the body, for checks (a page of a paged listing fits; its next link is at its end). */
  head: string;
}

const HEAD_CHARS = 1 << 20;

/** One timed request on `agent` (keep-alive if the agent is), body streamed and dropped. */
export function timedRequest(agent: Agent, url: string, method = 'GET', headers: OutgoingHttpHeaders = {}, body?: string, count?: RegExp): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const all: OutgoingHttpHeaders = body === undefined ? headers : { 'Content-Length': Buffer.byteLength(body), ...headers };
    const t0 = performance.now();
    let ttfb = -1;
    let bytes = 0;
    let matches = 0;
    let carry = '';
    let head = '';
    const re = count ? new RegExp(count.source, count.flags.includes('g') ? count.flags : count.flags + 'g') : undefined;
    const req = request(url, { method, headers: all, agent }, (res) => {
      res.on('data', (c: Buffer) => {
        if (ttfb < 0) ttfb = performance.now() - t0;
        bytes += c.length;
        const text = c.toString('latin1');
        if (head.length < HEAD_CHARS) head += text.slice(0, HEAD_CHARS - head.length);
        if (re) {
          // Matches may straddle chunks: keep the tail of the last chunk (shorter than any match).
          const s = carry + text;
          let last = 0;
          for (const m of s.matchAll(re)) {
            matches++;
            last = m.index + m[0].length;
          }
          carry = s.slice(Math.max(last, s.length - 256));
        }
      });
      res.on('end', () => {
        const total = performance.now() - t0;
        resolve({ status: res.statusCode ?? 0, ttfbMs: ttfb < 0 ? total : ttfb, totalMs: total, bytes, matches, head });
      });
      res.on('error', reject);
    });
    req.setTimeout(300_000, () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
