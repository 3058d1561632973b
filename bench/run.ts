/**
 * `npm run bench`: issue 13's comparison in one run — gitdav (folder and git backends, a worker per
 * CPU as `gitdav serve` starts by default) against nginx and Apache for WebDAV reads and memory, a
 * folder of 100,000 files, and CalDAV against Xandikos and Radicale — then every target of the issue
 * with PASS/FAIL/n/a (bench/targets.ts). Every server on its own 127.0.0.1 port and temp dir, stopped
 * at the end, on errors and on SIGINT. A server that is missing or fails to start shows as n/a.
 *
 * Knobs (environment):
 * - BENCH_SECTIONS: any of webdav, big, caldav, carddav, writes, bursts (default webdav,big,caldav,carddav). `writes` adds
 *   the 1 GiB PUT + GET, the small-PUT runs, commit counts, the history listing and git fsck; `bursts`
 *   is issue 14's write figures (bench/bursts.ts: 1,000 PUTs from one client and from 16, the commits
 *   they make and when they are visible, a PUT into a folder of BENCH_BIG_FILES files), each server alone.
 * - BENCH_PEERS: git, gitN, baseline, gitdav, gitdavN, nginx, apache, or `all` (default
 *   gitN,gitdavN,nginx,apache; the …N ones run a worker per CPU, the targets read those).
 * - BENCH_SECONDS: length of each wrk run (default 10; 3 in quick mode).
 * - BENCH_QUICK=1: a smoke run — 3 s loads, 10,000 files in the big folder, 1,000 CalDAV events.
 * - BENCH_BIG_FILES: files in the big folder (default 100,000).
 * - BENCH_CALDAV_EVENTS, BENCH_CALDAV_PEERS, BENCH_CALDAV_PUT_SECONDS, BENCH_CALDAV_PEER_PUT_SECONDS,
 *   BENCH_CALDAV_WORKERS: see bench/caldav.ts.
 * - BENCH_CARDDAV_CARDS, BENCH_CARDDAV_PEERS, BENCH_CARDDAV_RUNS, BENCH_CARDDAV_PUT_SECONDS,
 *   BENCH_CARDDAV_PEER_PUT_SECONDS: see bench/carddav.ts (issue 15; it prints its own targets).
 * - BENCH_NO_WRK=1 / BENCH_NO_CURL=1: the Node client loops instead of wrk / curl.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { installSignalHandlers, removeTempDirs, stopAll } from './proc.js';
import { runCalDav } from './caldav.js';
import { runCardDav } from './carddav.js';
import { webdavSection, selectedPeers, version } from './webdav.js';
import { bigFolderSection } from './big-folder.js';
import { burstsSection } from './bursts.js';
import { evaluateTargets, renderTargets, type Figures } from './targets.js';

const QUICK = !!process.env.BENCH_QUICK;
if (QUICK) {
  process.env.BENCH_CALDAV_EVENTS ??= '1000';
  process.env.BENCH_CALDAV_PEER_PUT_SECONDS ??= '20';
  process.env.BENCH_CARDDAV_CARDS ??= '1000';
  process.env.BENCH_CARDDAV_PEER_PUT_SECONDS ??= '20';
}
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 3 : 10));
const BIG_FILES = Number(process.env.BENCH_BIG_FILES ?? (QUICK ? 10_000 : 100_000));
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

function gitdavCommit(): string {
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  const head = spawnSync('git', ['-C', repo, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['-C', repo, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' });
  return head.status === 0 ? head.stdout.trim() + (dirty.stdout.trim() ? ' (with uncommitted changes)' : '') : '?';
}

function merge(into: Figures, from: Figures): void {
  for (const [metric, byWho] of Object.entries(from) as [keyof Figures, Figures[keyof Figures]][]) into[metric] = { ...into[metric], ...byWho };
}

async function main(): Promise<void> {
  installSignalHandlers();
  const began = Date.now();
  const sections = new Set((process.env.BENCH_SECTIONS ?? 'webdav,big,caldav,carddav').split(',').map((x) => x.trim()));
  const loadBefore = load();
  const figures: Figures = {};
  const print = (lines: string[]) => process.stdout.write(lines.join('\n') + '\n');
  print([
    `# gitdav benchmark, ${new Date().toISOString()}`,
    '',
    `gitdav ${gitdavCommit()}; node ${process.version}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); git ${version('git', ['--version'], /version (\S+)/)}; ` +
      `gitdav workers: ${availableParallelism()} (its default, one per CPU) for the peers gitdavN/gitN and for CalDAV.`,
    `sections: ${[...sections].join(', ')}; peers: ${selectedPeers().join(', ')}; ${SECONDS} s load runs${QUICK ? '; QUICK mode (smaller figures, not the issue\'s sizes)' : ''}.`,
    `load average before (1/5/15 min): ${loadBefore}`,
  ]);
  if (sections.has('webdav') || sections.has('writes')) {
    log('WebDAV section…');
    const w = await webdavSection(SECONDS, sections.has('writes'));
    if (!w.pass) process.exitCode = 1;
    merge(figures, w.figures);
    print(['', '## WebDAV', '', ...w.lines]);
  }
  if (sections.has('big')) {
    log(`folder of ${BIG_FILES} files…`);
    const b = await bigFolderSection(BIG_FILES);
    merge(figures, b.figures);
    print(['', `## A folder of ${BIG_FILES.toLocaleString('en-US')} files`, '', ...b.lines]);
  }
  if (sections.has('bursts')) {
    log('bursts section (issue 14)…');
    const b = await burstsSection(BIG_FILES);
    print(['', '## Writes: one client, burst commits, a PUT into a big folder (issue 14)', '', ...b.lines]);
  }
  if (sections.has('caldav')) {
    log('CalDAV section…');
    const c = await runCalDav((m) => log(`caldav: ${m}`));
    merge(figures, c.figures);
    if (!c.agreed) process.exitCode = 1;
    print(['', '## CalDAV: gitdav (git and folder backends) vs Xandikos vs Radicale', '', ...c.lines]);
  }
  if (sections.has('carddav')) {
    log('CardDAV section (issue 15)…');
    const c = await runCardDav((m) => log(`carddav: ${m}`));
    if (!c.agreed) process.exitCode = 1;
    print(['', '## CardDAV: gitdav (git and folder backends) vs Xandikos vs Radicale (issue 15)', '', ...c.lines]);
  }
  // Issue 13's targets read the webdav, big and caldav sections; a run of only others (bursts and
  // carddav, which print issues 14's and 15's own verdicts) would list every one as n/a.
  if (!['webdav', 'big', 'caldav', 'writes'].some((s) => sections.has(s))) {
    print(['', `load average before: ${loadBefore}; after: ${load()} (1/5/15 min)`, `total time ${((Date.now() - began) / 1000).toFixed(0)} s`]);
    return;
  }
  print([
    '',
    '## Targets (issue 13)',
    '',
    'gitdav fs / git as started by default (a worker per CPU); n/a: a figure was not measured (section or peer not run, or failed).',
    ...(BIG_FILES !== 100_000 || Number(process.env.BENCH_CALDAV_EVENTS ?? 10_000) !== 10_000
      ? [`NOT the issue's sizes: ${BIG_FILES.toLocaleString('en-US')} files, ${Number(process.env.BENCH_CALDAV_EVENTS ?? 10_000).toLocaleString('en-US')} CalDAV events; the verdicts below are only indicative.`]
      : []),
    '',
    ...renderTargets(evaluateTargets(figures)),
    '',
    `load average before: ${loadBefore}; after: ${load()} (1/5/15 min)`,
    `total time ${((Date.now() - began) / 1000).toFixed(0)} s`,
  ]);
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  await stopAll();
  removeTempDirs();
  process.exit(1);
});
