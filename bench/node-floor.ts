/**
 * The bench's bare-Node reference ("node floor"): what Node itself does on this machine serving the
 * same files, with nothing of gitdav's around it — no Koa, no login, no logging, no conditions. It
 * says how much of the gap to nginx is Node's and how much is gitdav's.
 *
 *   node dist/bench/node-floor.js --root DIR --port N --workers N --mode pipe|best
 *
 * - `pipe`: `http.createServer`, a stat for Content-Length, `fs.createReadStream(path).pipe(res)`
 *   (64 KiB chunks): plain Node as most servers use it.
 * - `best`: the best we found (bench.md, issue 13): an open, a synchronous fstat, then the bytes through
 *   backends/util/file-body.ts — synchronous reads into one reused buffer, each written with the
 *   socket's write callback — piped by `stream.pipeline`, as Koa pipes gitdav's GET bodies.
 *
 * Workers: node:cluster with `--workers` processes sharing the port (as gitdav's supervisor, which
 * hands accepted sockets to its workers). GET and HEAD of regular files under the root; 127.0.0.1.
 *
 * Writes, for the bursts section's PUT rows (both modes): MKCOL makes the folder; PUT appends the body
 * to this worker's own journal file (`<root>/.floor-journal-<pid>`) and answers 201 once an fdatasync
 * begun after it returned (one fdatasync for every PUT that arrived while the last one ran, as gitdav
 * groups them) — the least any Node server does that acknowledges only durable writes (gitdav's
 * journal append, without the request handling, the tree, the lock between workers or the file itself).
 */
import cluster from 'node:cluster';
import { closeSync, createReadStream, fdatasync, fstatSync, mkdir, open, openSync, stat, writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join, normalize } from 'node:path';
import { pipeline } from 'node:stream';
import { FileBody } from '../backends/util/file-body.js';

function arg(name: string): string {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (!value) {
    process.stderr.write('usage: node dist/bench/node-floor.js --root DIR --port N --workers N --mode pipe|best\n');
    process.exit(2);
  }
  return value;
}

const root = arg('--root');
const port = Number(arg('--port'));
const workers = Number(arg('--workers'));
const mode = arg('--mode');
if (mode !== 'pipe' && mode !== 'best') throw new Error(`--mode is pipe or best, not ${mode}`);

/** The file a request names, or null (outside the root, undecodable). */
function fileOf(req: IncomingMessage): string | null {
  try {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!));
    return path.includes('\0') || path.startsWith('..') ? null : join(root, path);
  } catch {
    return null;
  }
}

/** An answer without a body: an error status, or a write's 201. */
function empty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'Content-Length': 0 }).end();
}

function servePipe(req: IncomingMessage, res: ServerResponse, file: string): void {
  stat(file, (err, st) => {
    if (err || !st.isFile()) return empty(res, 404);
    res.writeHead(200, { 'Content-Length': st.size, 'Content-Type': 'application/octet-stream' });
    if (req.method === 'HEAD') return void res.end();
    pipeline(createReadStream(file), res, () => undefined); // an aborted response closes the file; a read error does not crash
  });
}

function serveBest(req: IncomingMessage, res: ServerResponse, file: string): void {
  // The open through the thread pool: a synchronous one measured 2–4× slower under load (bench.md).
  open(file, 'r', (err, fd) => {
    if (err) return empty(res, 404);
    const st = fstatSync(fd);
    if (!st.isFile() || req.method === 'HEAD') {
      closeSync(fd);
      if (!st.isFile()) return empty(res, 404);
      return void res.writeHead(200, { 'Content-Length': st.size, 'Content-Type': 'application/octet-stream' }).end();
    }
    res.writeHead(200, { 'Content-Length': st.size, 'Content-Type': 'application/octet-stream' });
    pipeline(new FileBody({ fd, start: 0, end: st.size, close: () => closeSync(fd) }), res, () => undefined);
  });
}

let journal = -1;
/** Answers waiting for the next fdatasync, and whether one is running: group commit, as gitdav's writer. */
let waiting: ServerResponse[] = [];
let syncing = false;

function flush(): void {
  if (syncing || waiting.length === 0) return;
  syncing = true;
  const batch = waiting;
  waiting = [];
  fdatasync(journal, (err) => {
    syncing = false;
    for (const res of batch) empty(res, err ? 500 : 201);
    flush();
  });
}

function write(req: IncomingMessage, res: ServerResponse, file: string): void {
  if (req.method === 'MKCOL') return mkdir(file, (err) => empty(res, err ? 405 : 201));
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (journal < 0) journal = openSync(join(root, `.floor-journal-${process.pid}`), 'a');
    const body = Buffer.concat(chunks);
    for (let done = 0; done < body.length; ) done += writeSync(journal, body, done, body.length - done);
    waiting.push(res);
    flush();
  });
}

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(); // at once: kill() waits for a disconnect
      process.exit(0);
    });
  }
} else {
  createServer((req, res) => {
    const file = fileOf(req);
    if (file && (req.method === 'PUT' || req.method === 'MKCOL')) return write(req, res, file);
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) return empty(res, file ? 405 : 404);
    if (mode === 'pipe') servePipe(req, res, file);
    else serveBest(req, res, file);
  }).listen(port, '127.0.0.1');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
}
