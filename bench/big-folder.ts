/**
 * The 100,000-file section of `npm run bench` (BENCH_SECTIONS=big; BENCH_BIG_FILES sets the count):
 * one folder of N small files, built without a single PUT — written straight into a folder server's
 * data dir before it starts, and for a git server one commit (mktree, commit-tree) into a bare repository
 * made before it starts. Fresh servers (the default peers: gitdav ×N fs and git, nginx, Apache), one at
 * a time; for each: `PROPFIND Depth: 1` without a body (allprop) on the folder, its time to the first
 * body byte and to the last, its size and the number of responses (cold: the first request; warm: the
 * second), the peak RSS per process from start to the end, and whether `GET` of the folder (a browser)
 * answers a bounded page with a link to the next one.
 */
import { spawnSync } from 'node:child_process';
import { Agent } from 'node:http';
import { accessSync, constants, mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { timedRequest } from './load.js';
import { FLOOR_PEERS, STARTERS, type Peer, type PeerName, type Prepare } from './peers.js';
import { describeProcs, sampleProcesses, setTempRoot, stopAll, removeTempDirs } from './proc.js';
import { renderTable, rowMaker, type Cell, type Row, type TableId } from './table.js';
import { TARGET_PEER, selectedPeers } from './webdav.js';
import type { Figures, Who } from './targets.js';

export const BIG_DIR = '/big/';
const MB = 1e6;
const BODY = 'x\n';
const RESPONSE = /<([A-Za-z][\w.-]*:)?response[\s>]/;
const name = (i: number) => `file-${String(i).padStart(6, '0')}.txt`;

/** N files of 2 bytes in DIR/big/. */
function writeFolder(dataDir: string, files: number): void {
  const dir = join(dataDir, BIG_DIR);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(join(dir, name(i)), BODY);
}

/**
 * A bare repository on `main` with one commit holding big/ (N paths, one blob), by native git:
 * hash-object, mktree (the folder's tree, then the root's), commit-tree, update-ref. (fast-import
 * takes ~50 s for one folder of 100,000 entries here; mktree about a second.)
 */
export function gitFolder(gitDir: string, files: number): void {
  const run = (args: string[], input?: string) => {
    const r = spawnSync('git', ['--git-dir', gitDir, ...args], { input, encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`git ${args[0]}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const init = spawnSync('git', ['init', '-q', '--bare', '-b', 'main', gitDir], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`git init: ${init.stderr}`);
  const blob = run(['hash-object', '-w', '--stdin'], BODY);
  const lines: string[] = [];
  for (let i = 0; i < files; i++) lines.push(`100644 blob ${blob}\t${name(i)}`);
  const folder = run(['mktree'], lines.join('\n') + '\n');
  const root = run(['mktree'], `040000 tree ${folder}\t${BIG_DIR.slice(1, -1)}\n`);
  const env = { GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@localhost', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@localhost' };
  const commit = spawnSync('git', ['--git-dir', gitDir, 'commit-tree', root, '-m', 'bench: a folder of many files'], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (commit.status !== 0) throw new Error(`git commit-tree: ${commit.stderr}`);
  run(['update-ref', 'refs/heads/main', commit.stdout.trim()]);
}

/** /dev/shm when it is a writable tmpfs with room for the folders (~0.5 GB per copy of 100,000 files). */
function tmpfsRoot(): string | undefined {
  try {
    const st = statfsSync('/dev/shm');
    if (st.type !== 0x01021994 || st.bavail * st.bsize < 4e9) return undefined; // TMPFS_MAGIC
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return undefined;
  }
}

/** Whether an HTML listing is a bounded page: rows counted, and a link to the next page looked for. */
export function pagedListing(html: string, total: number): { rows: number; next: boolean; paged: boolean } {
  const rows = (html.match(/<tr[\s>]/gi) ?? []).length;
  const next = /rel=["']?next|<a[^>]*>[^<]*\bnext\b/i.test(html);
  return { rows, next, paged: next && rows < total / 10 };
}

export async function bigFolderSection(files: number): Promise<{ lines: string[]; figures: Figures }> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const T: TableId[] = ['issue'];
  const row = rowMaker(rows, T);
  const n = files.toLocaleString('en-US');
  const R = {
    ttfb: row(`${n} files, allprop PROPFIND Depth 1 (cold), first body byte, ms`),
    total: row(`${n} files, allprop PROPFIND Depth 1 (cold), complete, ms`),
    warm: row(`${n} files, allprop PROPFIND Depth 1 (again), complete, ms`),
    size: row(`${n} files, allprop PROPFIND Depth 1, MB of XML`, 1),
    rss: row(`${n} files: peak RSS from start, largest process, MB`, 1),
    listing: row(`${n} files: GET of the folder (browser), rows in the page`),
  };
  const prepare: Prepare = (dataDir, storage) => (storage === 'git' ? gitFolder(dataDir, files) : writeFolder(dataDir, files));
  // The node floor peers serve GETs only (bench/node-floor.ts): no PROPFIND to time here.
  const wanted = selectedPeers().filter((p) => p !== 'baseline' && !FLOOR_PEERS.includes(p));
  const shm = tmpfsRoot();
  if (shm) setTempRoot(shm);
  const log = (m: string) => process.stderr.write(`bench big: ${m}\n`);
  const ran = new Set<PeerName>();
  const set = (r: Row, p: PeerName, c: Cell) => {
    r.cells[p] = c;
  };
  try {
    for (const name of wanted) {
      const began = Date.now();
      let peer: Peer;
      try {
        // nginx's and Apache's starters hand their whole temp dir (prepared files included) to www-data.
        peer = await STARTERS[name](prepare);
      } catch (err) {
        notes.push(`${name}: did not start: ${(err as Error).message.split('\n')[0]}`);
        continue;
      }
      ran.add(name);
      log(`${name}: ${n} files ready and serving in ${((Date.now() - began) / 1000).toFixed(1)} s`);
      const sampler = sampleProcesses(peer.pid, 100);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (const [i, r] of [[0, R.total], [1, R.warm]] as const) {
          const t = await timedRequest(agent, peer.url + BIG_DIR, 'PROPFIND', { Depth: '1' }, undefined, RESPONSE);
          if (t.status !== 207 || t.matches !== files + 1) {
            notes.push(`${name}: allprop PROPFIND Depth 1 gave ${t.status} with ${t.matches} responses (want 207 with ${files + 1})`);
            if (t.status !== 207) {
              set(r, name, { note: `failed (${t.status})` });
              continue;
            }
          }
          set(r, name, { value: t.totalMs });
          if (i === 0) {
            set(R.ttfb, name, { value: t.ttfbMs });
            set(R.size, name, { value: t.bytes / MB });
          }
          log(`${name}: PROPFIND ${i === 0 ? 'cold' : 'again'}: first byte ${t.ttfbMs.toFixed(0)} ms, complete ${t.totalMs.toFixed(0)} ms, ${(t.bytes / MB).toFixed(1)} MB`);
        }
        const g = await timedRequest(agent, peer.url + BIG_DIR, 'GET', { Accept: 'text/html' });
        if (g.status === 200) {
          // The page itself is streamed and dropped; its first MiB says whether it is paged, the size how many rows it could hold.
          const page = pagedListing(g.head, files);
          const rowsSeen = g.bytes > g.head.length ? `${page.rows}+ (${(g.bytes / MB).toFixed(1)} MB)` : String(page.rows);
          set(R.listing, name, { value: page.paged ? page.rows : undefined, note: page.paged ? 'paged' : `not paged: ${rowsSeen}${page.next ? '' : ', no next link'}` });
        } else {
          set(R.listing, name, { note: `n/a (${g.status})` });
        }
      } catch (err) {
        notes.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
      } finally {
        agent.destroy();
        const procs = sampler.stop();
        set(R.rss, name, { value: Math.max(...procs.map((p) => p.peak)) / MB });
        notes.push(`peak RSS, ${name}: ${describeProcs(procs)}`);
        await peer.stop();
      }
    }
  } finally {
    await stopAll();
    removeTempDirs();
    setTempRoot('/tmp');
  }

  const figures: Figures = {};
  for (const [peer, who] of Object.entries(TARGET_PEER) as [PeerName, Who][]) {
    const v = (r: Row) => r.cells[peer]?.value;
    if (v(R.ttfb) !== undefined) (figures.bigTtfb ??= {})[who] = v(R.ttfb);
    if (v(R.total) !== undefined) (figures.bigTotal ??= {})[who] = v(R.total);
    if (v(R.rss) !== undefined) (figures.bigRss ??= {})[who] = v(R.rss);
    const l = R.listing.cells[peer];
    if (l && !l.note?.startsWith('n/a')) (figures.bigPaged ??= {})[who] = l.note === 'paged' ? 1 : 0;
  }
  const lines = [
    `Folder of ${n} files of ${BODY.length} bytes (folder servers: written into the data dir before start; git: one commit made by git mktree + commit-tree before start), on ${shm ?? '/tmp'}. Each server fresh, alone.`,
    'nginx (dav_ext) answers allprop itself; nginx and Apache have no HTML listing here (autoindex is off, mod_autoindex not loaded): n/a.',
    '',
    renderTable('issue', rows, ran),
  ];
  if (notes.length) lines.push('', 'Notes:', ...notes.map((x) => `- ${x}`));
  return { lines, figures };
}
