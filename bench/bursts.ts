/**
 * Issue 14's write figures (BENCH_SECTIONS=bursts; not in the default run): what one client writing
 * small files costs, and what history it leaves. Each selected peer (the bare-Node floor too: its PUT is
 * one fdatasync'd append, the least a durable Node server does; not floorBest, whose PUT is the same)
 * is started fresh and alone, in the same run as Apache:
 *   - 1,000 PUTs of 1 KiB new files from ONE client (sequential, keep-alive), and from 16 clients;
 *     PUT/s, with the ratios to Apache (targets: git ≥ 0.5× at 1 client, ≥ 1× at 16);
 *   - git peers: the commits those PUTs made (`git rev-list --count main` before, and after every
 *     file is in main's tree), and the time from the last PUT's response until every file it wrote
 *     is in main's tree (polling the ref every 10 ms: with burst commits, the burst window and the
 *     commit; with a commit per acknowledged write, ~0);
 *   - git peers: a PUT of a new file into a folder of 100,000 files (the big section's fixture, one
 *     commit made by git mktree before start), p50 and p95 of sequential PUTs (target p50 < 50 ms).
 */
import { spawnSync } from 'node:child_process';
import { Agent } from 'node:http';
import { gitFolder, BIG_DIR } from './big-folder.js';
import { commitCount, entriesAtTip, untilTip as untilTipOf, waitForGit } from './git.js';
import { fetchOnce, putMany, timedRequest } from './load.js';
import { STARTERS, type Peer, type PeerName } from './peers.js';
import { removeTempDirs, sleep, stopAll } from './proc.js';
import { fmt, renderTable, rowMaker, type Cell, type Row, type TableId } from './table.js';
import { selectedPeers } from './webdav.js';

const PUTS = 1000;
const PUT_SIZE = 1024;
const CLIENTS = [1, 16] as const;
/** A bound on one small-PUT run, whatever the server's speed. */
const PUT_MAX_SECONDS = 150;
/** Sequential PUTs into the big folder (after WARM untimed ones). */
const BIG_PUTS = 100;
const WARM = 5;
/** Bound on waiting for the PUTs' files to reach main (burst window + commit; a stuck committer shows as n/a). */
const VISIBLE_MAX_MS = 120_000;
const POLL_MS = 10;

const TARGETS = { oneClient: 0.5, sixteen: 1, bigP50: 50 };

const log = (m: string) => process.stderr.write(`bench bursts: ${m}\n`);

function git(gitDir: string, args: string[]) {
  return spawnSync('git', ['--git-dir', gitDir, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
}

/** Files the PUT runs wrote (file-NNNN.txt) that main's tree holds in folder `dir` (no leading slash). */
const filesAtTip = (gitDir: string, dir: string): number => entriesAtTip(gitDir, dir, /^file-\d+\.txt$/);

/** Polls (every POLL_MS, bounded) until `done(gitDir)`: ms waited, or undefined past the bound. */
const untilTip = (gitDir: string, done: (gitDir: string) => boolean): Promise<number | undefined> => untilTipOf(gitDir, done, VISIBLE_MAX_MS, POLL_MS);

async function mkcol(url: string): Promise<void> {
  const r = await fetchOnce(url, 'MKCOL');
  if (r.status !== 201) throw new Error(`MKCOL ${url} answered ${r.status}`);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

export async function burstsSection(bigFiles: number): Promise<{ lines: string[] }> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const T: TableId[] = ['issue'];
  const row = rowMaker(rows, T);
  const n = bigFiles.toLocaleString('en-US');
  const R = {
    puts: Object.fromEntries(CLIENTS.map((c) => [c, row(`${PUTS.toLocaleString('en-US')} PUTs of ${PUT_SIZE} B new files, ${c === 1 ? 'ONE client (sequential)' : `${c} concurrent clients`}, PUT/s`)])) as Record<(typeof CLIENTS)[number], Row>,
    commits: Object.fromEntries(CLIENTS.map((c) => [c, row(`commits on main made by those ${PUTS.toLocaleString('en-US')} PUTs, ${c} client${c > 1 ? 's' : ''}`)])) as Record<(typeof CLIENTS)[number], Row>,
    visible: Object.fromEntries(CLIENTS.map((c) => [c, row(`last PUT answered → all its files in main's tree, ${c} client${c > 1 ? 's' : ''}, ms (polled every ${POLL_MS} ms)`)])) as Record<(typeof CLIENTS)[number], Row>,
    bigP50: row(`PUT of a new 2 B file into a folder of ${n} files, p50 ms (${BIG_PUTS} sequential)`, 1),
    bigP95: row(`PUT of a new 2 B file into a folder of ${n} files, p95 ms`, 1),
  };
  // The floor writes too: its PUT is a durable append and nothing else (bench/node-floor.ts). floorBest's
  // PUT is the same code (its mode changes GET only): measuring it too would be the same run twice.
  const wanted = selectedPeers().filter((p) => p !== 'baseline' && p !== 'floorBest');
  const ran = new Set<PeerName>();
  const body = Buffer.alloc(PUT_SIZE, 'x');
  try {
    for (const name of wanted) {
      let peer: Peer;
      try {
        peer = await STARTERS[name]();
      } catch (err) {
        notes.push(`${name}: did not start: ${(err as Error).message.split('\n')[0]}`);
        continue;
      }
      ran.add(name);
      try {
        await mkcol(`${peer.url}/puts/`);
        for (const c of CLIENTS) {
          const dir = `puts/b${c}`;
          await mkcol(`${peer.url}/${dir}/`);
          // The MKCOLs' commits are not the run's: wait for the folder to be in main's tree.
          if (peer.storage === 'git') await untilTip(peer.dataDir, (g) => git(g, ['cat-file', '-e', `main:${dir}`]).status === 0);
          const before = peer.storage === 'git' ? commitCount(peer.dataDir) : undefined;
          const res = await putMany({ baseUrl: `${peer.url}/${dir}`, count: PUTS, body, clients: c, maxSeconds: PUT_MAX_SECONDS });
          const answered = performance.now();
          const cell: Cell = { value: res.rate };
          if (res.errors) notes.push(`${R.puts[c].label}, ${name}: ${res.errors} of ${res.done} PUTs failed or were not 201/204`);
          if (res.done < PUTS) cell.note = `${res.done} PUTs (cap ${PUT_MAX_SECONDS} s)`;
          R.puts[c].cells[name] = cell;
          log(`${R.puts[c].label} ${name}: ${fmt(cell, 0)}`);
          if (peer.storage !== 'git') continue;
          const waited = await untilTip(peer.dataDir, (g) => filesAtTip(g, dir) >= res.done - res.errors);
          R.visible[c].cells[name] = waited === undefined ? { note: `not within ${VISIBLE_MAX_MS / 1000} s` } : { value: performance.now() - answered };
          const p0 = performance.now();
          filesAtTip(peer.dataDir, dir);
          notes.push(`${name}, ${c} client(s): one poll of main's tree (git ls-tree) takes ${(performance.now() - p0).toFixed(0)} ms here: the floor of the visibility row`);
          const after = commitCount(peer.dataDir);
          R.commits[c].cells[name] = before === undefined || after === undefined ? { note: 'git failed' } : { value: after - before };
          log(`${name} ${c} client(s): ${fmt(R.commits[c].cells[name], 0)} commits, visible after ${fmt(R.visible[c].cells[name], 0)} ms`);
          const w = await waitForGit(peer.dataDir); // a background gc must not load the next run
          if (w.seconds >= 0.5 || w.killed) notes.push(`${name}: waited ${w.seconds.toFixed(1)} s after the ${c}-client PUTs for its background git gc`);
        }
      } catch (err) {
        notes.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
      } finally {
        await peer.stop();
      }
    }

    for (const name of wanted.filter((p) => p === 'git' || p === 'gitN')) {
      const began = Date.now();
      let peer: Peer;
      try {
        peer = await STARTERS[name]((dataDir, storage) => storage === 'git' && gitFolder(dataDir, bigFiles));
      } catch (err) {
        notes.push(`${name} with ${n} files: did not start: ${(err as Error).message.split('\n')[0]}`);
        continue;
      }
      log(`${name}: ${n} files ready in ${((Date.now() - began) / 1000).toFixed(1)} s`);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const times: number[] = [];
        for (let i = 0; i < WARM + BIG_PUTS; i++) {
          const t = await timedRequest(agent, `${peer.url}${BIG_DIR}new-${String(i).padStart(4, '0')}.txt`, 'PUT', { 'Content-Type': 'text/plain' }, 'y\n');
          if (t.status !== 201 && t.status !== 204) throw new Error(`PUT into ${BIG_DIR} answered ${t.status}`);
          if (i >= WARM) times.push(t.totalMs);
        }
        R.bigP50.cells[name] = { value: quantile(times, 0.5) };
        R.bigP95.cells[name] = { value: quantile(times, 0.95) };
        log(`${name}: PUT into ${n} files: p50 ${fmt(R.bigP50.cells[name], 1)} ms, p95 ${fmt(R.bigP95.cells[name], 1)} ms`);
        await waitForGit(peer.dataDir);
      } catch (err) {
        notes.push(`${name}, PUT into ${n} files: ${(err as Error).message.split('\n')[0]}`);
      } finally {
        agent.destroy();
        await peer.stop();
      }
    }
  } finally {
    await stopAll();
    removeTempDirs();
  }

  const lines = [
    `Each server fresh and alone, on /tmp (disk, so fsyncs cost what they cost); the folder of ${n} files: one commit made by git mktree before start (as in the big section).`,
    '',
    renderTable('issue', rows, ran),
    '',
    ...verdicts(R, ran),
  ];
  if (notes.length) lines.push('', 'Notes:', ...notes.map((x) => `- ${x}`));
  return { lines };
}

/** Issue 14's targets, from the default peers (gitN against Apache), PASS/FAIL/n/a. */
function verdicts(R: { puts: Record<1 | 16, Row>; bigP50: Row }, ran: Set<PeerName>): string[] {
  const gitName: PeerName = ran.has('gitN') ? 'gitN' : 'git';
  const rate = (c: 1 | 16, bound: number) => {
    const g = R.puts[c].cells[gitName]?.value;
    const a = R.puts[c].cells.apache?.value;
    if (g === undefined || a === undefined || a === 0) return `git ÷ Apache, ${c} client(s): n/a (target ≥ ${bound}×)`;
    const x = g / a;
    return `git ÷ Apache, ${c} client(s): ${x.toFixed(2)}× (target ≥ ${bound}×): ${x >= bound ? 'PASS' : 'FAIL'}`;
  };
  const p50 = R.bigP50.cells[gitName]?.value;
  // What bounds a server that acknowledges only durable writes: the bare-Node floor (one fdatasync'd append per PUT).
  const floors = ([1, 16] as const).flatMap((c) => {
    const f = R.puts[c].cells.floor?.value;
    const a = R.puts[c].cells.apache?.value;
    const g = R.puts[c].cells[gitName]?.value;
    if (f === undefined || !a) return [];
    return [`- node floor (a bare Node server, one fdatasync'd append per PUT) ÷ Apache, ${c} client(s): ${(f / a).toFixed(2)}×; git ÷ node floor: ${g === undefined ? 'n/a' : `${(g / f).toFixed(2)}×`}`];
  });
  return [
    `Issue 14 targets (${gitName} = gitdav git${gitName === 'gitN' ? ', a worker per CPU' : ', one process'}):`,
    `- ${rate(1, TARGETS.oneClient)}`,
    `- ${rate(16, TARGETS.sixteen)}`,
    `- PUT into the big folder, p50: ${p50 === undefined ? 'n/a' : `${p50.toFixed(1)} ms`} (target < ${TARGETS.bigP50} ms): ${p50 === undefined ? 'n/a' : p50 < TARGETS.bigP50 ? 'PASS' : 'FAIL'}`,
    ...floors,
  ];
}
