/**
 * The CalDAV section of `npm run bench`: gitdav (git backend), gitdav (folder backend), Xandikos and
 * Radicale on the same generated calendar (bench/caldav-data.ts), one server at a time, each on its
 * own 127.0.0.1 port and temp dir (bench/caldav-servers.ts, processes through bench/proc.ts):
 *
 * 1. the upload: every event PUT into an empty calendar (MKCALENDAR) by 8 keep-alive clients
 *    (`If-None-Match: *`), events/s — for a 1,000-event and for the N-event calendar;
 * 2. calendar-query, one month (Depth 1, getetag + calendar-data): p50 of RUNS after one untimed
 *    request, and the hits, checked against the generator's own answer and across servers;
 * 3. calendar-multiget of 100 objects: p50;
 * 4. sync-collection after one change (token from PROPFIND, one PUT, then the timed REPORT), on both
 *    calendars: similar times mean the cost follows the change, not the calendar;
 * 5. the first calendar-query after a restart (caches gone), and the peak RSS before it;
 * 6. the peak RSS of each process during the N-event upload (VmHWM reset before it, then sampled).
 *
 * A server that is not installed or fails shows n/a; so does gitdav's calendar-query while it answers
 * 403/501. An upload that hits its time cap is reported as such, and the rest of the events are
 * written straight into the server's storage where it has files to write (so the later rows still run
 * on the same calendar). Run alone: `node dist/bench/caldav.js` (BENCH_CALDAV_EVENTS,
 * BENCH_CALDAV_PEERS: default git,gitdav,radicale (the targets' servers; add xandikos, which takes
 * minutes more at 10,000 events), BENCH_CALDAV_PUT_SECONDS: gitdav's upload cap,
 * default 1200; BENCH_CALDAV_PEER_PUT_SECONDS: Xandikos' and Radicale's, default 30, as their
 * uploads only prepare the calendar the timed rows read; BENCH_CALDAV_WORKERS: gitdav's --workers,
 * default one per CPU as `gitdav serve` starts).
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { generateCalendar, overlaps, PROBES, QUERY_RANGE, type CalEvent } from './caldav-data.js';
import {
  keepAlive,
  median,
  memberName,
  mkcalendarBody,
  multigetBody,
  parseMultistatus,
  queryBody,
  reportHeaders,
  send,
  SYNC_TOKEN_PROPFIND,
  syncRuns,
  uploadAll,
} from './caldav-http.js';
import { CAL_HEADERS, CAL_ORDER, eachCalServer, type CalName, type CalServer } from './caldav-servers.js';
import { describeProcs, installSignalHandlers, removeTempDirs, sampleProcesses, sampleRss, stopAll } from './proc.js';
import { waitForGit } from './git.js';
import { fmt as fmtCell, markdownTable, ratio, type Cell } from './table.js';
import { figuresOf, type Figures } from './targets.js';

const CLIENTS = 8;
const RUNS = 10;
const MULTIGET = 100;
const BIG_CAL = 'bench-big';
const SMALL_CAL = 'bench-small';
const MB = 1e6;
/** Xandikos is no target's reference and slow at 10,000 events (multiget of 100: seconds): opt-in. */
const DEFAULT_CAL_PEERS: CalName[] = ['git', 'gitdav', 'radicale'];

const n = (x: number) => x.toLocaleString('en-US');

interface CalRow {
  label: string;
  digits: number;
  /** 'rate': higher is better; 'ms'/'mb': lower is better; 'plain': no ratios. */
  kind: 'rate' | 'ms' | 'mb' | 'plain';
  cells: Partial<Record<CalName, Cell>>;
}

const RATIOS: { a: CalName; b: CalName }[] = [
  { a: 'git', b: 'xandikos' },
  { a: 'git', b: 'radicale' },
  { a: 'gitdav', b: 'xandikos' },
  { a: 'gitdav', b: 'radicale' },
];
const SHORT: Record<CalName, string> = { git: 'git', gitdav: 'fs', xandikos: 'Xandikos', radicale: 'Radicale' };

/** The answers one server gave, kept for the checks across servers. */
interface Seen {
  hits?: Set<string>;
  restartHits?: number;
  partial?: string;
}

export interface CalDavResult {
  /** Markdown lines: header, table, checks, notes. */
  lines: string[];
  /** Whether the servers' calendar-query answers agreed with each other and the generator. */
  agreed: boolean;
  /** For the targets: gitdav fs/git and Radicale. */
  figures: Figures;
}

export async function runCalDav(log: (msg: string) => void = (m) => process.stderr.write(`bench caldav: ${m}\n`)): Promise<CalDavResult> {
  // Read when the section runs (not at import), so run.ts's quick mode can set them.
  const EVENTS = Number(process.env.BENCH_CALDAV_EVENTS ?? 10_000);
  const SMALL = Math.min(1000, EVENTS);
  /** Bounds on one upload, whatever the server's speed: gitdav's, and Xandikos'/Radicale's. */
  const PUT_MAX_SECONDS = Number(process.env.BENCH_CALDAV_PUT_SECONDS ?? 1200);
  const PEER_PUT_MAX_SECONDS = Number(process.env.BENCH_CALDAV_PEER_PUT_SECONDS ?? 30);
  const began = Date.now();
  const notes: string[] = [];
  const warnings: string[] = [];
  const rows: CalRow[] = [];
  const row = (label: string, kind: CalRow['kind'], digits = 0): CalRow => {
    const r: CalRow = { label, kind, digits, cells: {} };
    rows.push(r);
    return r;
  };

  const events = generateCalendar(EVENTS);
  const small = events.slice(0, SMALL);
  const expected = new Set(events.filter((e) => overlaps(e, QUERY_RANGE.start, QUERY_RANGE.end)).map((e) => e.name));
  const byName = new Map(events.map((e) => [e.name, e]));
  const recurring = events.filter((e) => e.recurring).length;
  const zoned = events.filter((e) => e.ics.includes('BEGIN:VTIMEZONE')).length;
  const overrides = events.filter((e) => e.ics.includes('RECURRENCE-ID')).length;
  const exdates = events.filter((e) => e.ics.includes('EXDATE')).length;
  const bytes = events.reduce((s, e) => s + Buffer.byteLength(e.ics), 0);
  const monthLabel = `${new Date(QUERY_RANGE.start).toISOString().slice(0, 10)}/${new Date(QUERY_RANGE.end).toISOString().slice(0, 10)}`;

  const R = {
    putBig: row(`PUT ${n(EVENTS)} events into an empty calendar, ${CLIENTS} clients (keep-alive), events/s`, 'rate', 1),
    putSmall: row(`PUT ${n(SMALL)} events into an empty calendar, ${CLIENTS} clients (keep-alive), events/s`, 'rate', 1),
    query: row(`calendar-query, 1 month (Depth 1, getetag + calendar-data), p50 of ${RUNS}, ms`, 'ms'),
    hits: row(`calendar-query hits (the generator says ${n(expected.size)})`, 'plain'),
    wrong: row('calendar-query: hits missing / extra vs the generator', 'plain'),
    restart: row('calendar-query, first request after a restart (once it answers OPTIONS), ms', 'ms'),
    multiget: row(`calendar-multiget, ${MULTIGET} objects, p50 of ${RUNS}, ms`, 'ms', 1),
    syncBig: row(`sync-collection after 1 change, ${n(EVENTS)}-event calendar, p50 of ${RUNS}, ms`, 'ms', 1),
    syncSmall: row(`sync-collection after 1 change, ${n(SMALL)}-event calendar, p50 of ${RUNS}, ms`, 'ms', 1),
    syncRatio: row(`sync-collection ${n(EVENTS)} ÷ ${n(SMALL)} events (≈1: cost follows the change)`, 'plain', 2),
    rss: row('peak RSS before the restart (process tree), MB', 'mb', 1),
    upRss: row(`peak RSS during the ${n(EVENTS)}-event upload, largest process, MB`, 'mb', 1),
    disk: row('storage on disk at the end (du -sb of its temp dir), MB', 'mb', 1),
  };

  const wanted = (process.env.BENCH_CALDAV_PEERS?.split(',') ?? DEFAULT_CAL_PEERS).filter((x): x is CalName => CAL_ORDER.includes(x as CalName));
  const seen: Partial<Record<CalName, Seen>> = {};
  const versions: Partial<Record<CalName, string>> = {};
  const missing: Partial<Record<CalName, string>> = {};
  const load: number[] = [];
  const loadTimer = setInterval(() => load.push(loadavg()[0]!), 5000);

  try {
    await eachCalServer({ wanted, missing, versions, notes, log }, (server) => measureServer(server, (seen[server.name] = {})));
  } finally {
    clearInterval(loadTimer);
  }

  async function measureServer(server: CalServer, s: Seen): Promise<void> {
    const name = server.name;
    const H = CAL_HEADERS[name];
    const sampler = sampleRss(server.pid(), 250);
    const agent = keepAlive();
    try {
      const big = server.url + server.calendar(BIG_CAL);
      const smallUrl = server.url + server.calendar(SMALL_CAL);
      for (const [cal, url] of [[SMALL_CAL, smallUrl], [BIG_CAL, big]] as const) {
        const r = await send(agent, url, 'MKCALENDAR', { 'Content-Type': 'application/xml; charset=utf-8' }, mkcalendarBody(cal));
        if (r.status !== 201) throw new Error(`MKCALENDAR ${server.calendar(cal)} answered ${r.status}: ${r.body.slice(0, 200)}`);
      }

      // 1. The uploads: the small calendar first, then the big one.
      for (const [r, cal, url, items] of [[R.putSmall, SMALL_CAL, smallUrl, small], [R.putBig, BIG_CAL, big, events]] as const) {
        log(`${name}: PUT ${items.length} events…`);
        const cap = server.gitDir !== undefined || name === 'gitdav' ? PUT_MAX_SECONDS : PEER_PUT_MAX_SECONDS;
        const procs = cal === BIG_CAL ? sampleProcesses(server.pid(), 250, true) : undefined;
        const up = await uploadAll(url, items, CLIENTS, cap);
        if (procs) {
          const peaks = procs.stop();
          R.upRss.cells[name] = { value: Math.max(...peaks.map((p) => p.peak)) / MB };
          notes.push(`${H}: peak RSS during the ${n(EVENTS)}-event upload: ${describeProcs(peaks)}`);
        }
        if (up.errors) notes.push(`${H}, ${r.label}: ${up.errors} of ${up.done} PUTs failed (first: ${up.firstError})`);
        r.cells[name] = up.errors >= up.done ? { note: 'failed' } : { value: up.rate };
        log(`${name}: ${up.done} PUTs in ${up.seconds.toFixed(1)} s, ${up.rate.toFixed(1)}/s, ${up.errors} errors`);
        if (up.done < items.length) {
          const rest = items.slice(up.done);
          r.cells[name] = { value: up.rate, note: `cut at ${cap} s after ${n(up.done)}` };
          if (server.bulkFill) {
            server.bulkFill(server.calendar(cal), rest.map((e) => ({ name: e.name, body: e.ics })));
            notes.push(`${H}: the ${cap} s cap stopped the upload after ${n(up.done)} of ${n(items.length)} PUTs (${up.rate.toFixed(1)}/s); the other ${n(rest.length)} events were written straight into its storage, untimed`);
          } else {
            if (cal === BIG_CAL) s.partial = `${n(up.done)} of ${n(items.length)} events`;
            notes.push(`${H}: the ${cap} s cap stopped the upload after ${n(up.done)} of ${n(items.length)} PUTs; its later rows ran on that part`);
          }
        }
      }

      // gitdav git runs `git gc --auto` in the background every 500 commits: let it finish (untimed).
      if (server.gitDir) {
        const w = await waitForGit(server.gitDir);
        if (w.seconds >= 0.5 || w.killed) notes.push(`${H}: waited ${w.seconds.toFixed(1)} s after the uploads for its background git gc${w.killed ? `, then killed ${w.killed} git process(es)` : ''}`);
      }

      // Does the server list what it was given? (untimed)
      for (const [cal, url, count] of [[SMALL_CAL, smallUrl, SMALL], [BIG_CAL, big, EVENTS]] as const) {
        const pf = await send(agent, url, 'PROPFIND', reportHeaders('1'), '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>');
        const members = parseMultistatus(pf.body).responses.length - 1;
        if (pf.status !== 207 || members !== count) notes.push(`${H}: PROPFIND Depth 1 on ${cal} gave ${pf.status} with ${members} members, want ${count}`);
      }

      // 2. calendar-query, one month.
      const qBody = queryBody(QUERY_RANGE.start, QUERY_RANGE.end);
      const first = await send(agent, big, 'REPORT', reportHeaders('1'), qBody);
      if (first.status === 403 || first.status === 501 || first.status === 405) {
        R.query.cells[name] = { note: `n/a (${first.status})` };
        R.hits.cells[name] = { note: `n/a (${first.status})` };
        notes.push(`${H}: calendar-query answered ${first.status}: ${first.body.slice(0, 160).replace(/\s+/g, ' ')}`);
      } else if (first.status !== 207) {
        throw new Error(`calendar-query answered ${first.status}: ${first.body.slice(0, 200)}`);
      } else {
        const ms = parseMultistatus(first.body);
        const bad = ms.responses.filter((x) => x.status !== 200 || !x.hasCalendarData).length;
        if (bad) notes.push(`${H}: ${bad} of ${ms.responses.length} calendar-query responses lack a 200 propstat with calendar-data`);
        s.hits = new Set(ms.responses.map((x) => memberName(x.href)));
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const q = await send(agent, big, 'REPORT', reportHeaders('1'), qBody);
          if (q.status !== 207) throw new Error(`calendar-query run ${i} answered ${q.status}`);
          const count = parseMultistatus(q.body).responses.length;
          if (count !== s.hits.size) notes.push(`${H}: calendar-query run ${i} gave ${count} hits, the first ${s.hits.size}`);
          times.push(q.ms);
        }
        R.query.cells[name] = { value: median(times) };
        R.hits.cells[name] = { value: s.hits.size, note: s.partial ? `on ${s.partial}` : undefined };
        notes.push(`${H}: calendar-query, first request after the upload ${first.ms.toFixed(0)} ms; runs ${Math.min(...times).toFixed(0)}–${Math.max(...times).toFixed(0)} ms; ${(first.body.length / MB).toFixed(2)} MB answer`);
      }
      log(`${name}: calendar-query ${fmtCell(R.query.cells[name], 0)} ms, ${s.hits?.size ?? 'n/a'} hits`);

      // 3. calendar-multiget of 100 objects, spread over the calendar.
      const loaded = s.partial ? Number(s.partial.split(' ')[0]!.replace(/,/g, '')) : EVENTS;
      const count = Math.min(MULTIGET, loaded);
      const step = loaded / count;
      // Spread over the calendar, nudged off the recurring every-10th slots now and then.
      const picks = Array.from({ length: count }, (_, i) => events[Math.floor(i * step) + (step >= 8 ? i % 7 : 0)]!);
      const mBody = multigetBody(picks.map((e) => server.calendar(BIG_CAL) + e.name));
      {
        const warm = await send(agent, big, 'REPORT', reportHeaders('0'), mBody);
        const ms = parseMultistatus(warm.body);
        const good = ms.responses.filter((x) => x.status === 200 && x.hasCalendarData).length;
        if (warm.status !== 207 || good !== picks.length) notes.push(`${H}: calendar-multiget gave ${warm.status} with ${good} of ${picks.length} objects`);
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const m = await send(agent, big, 'REPORT', reportHeaders('0'), mBody);
          if (m.status !== 207) throw new Error(`calendar-multiget run ${i} answered ${m.status}`);
          times.push(m.ms);
        }
        R.multiget.cells[name] = warm.status === 207 ? { value: median(times) } : { note: 'failed' };
      }
      log(`${name}: calendar-multiget ${fmtCell(R.multiget.cells[name], 1)} ms`);

      // 4. sync-collection after one change, on both calendars.
      for (const [r, cal, url, items] of [[R.syncBig, BIG_CAL, big, events.slice(0, loaded)], [R.syncSmall, SMALL_CAL, smallUrl, small]] as const) {
        r.cells[name] = await syncRuns(agent, cal, url, items, RUNS, H, (x) => notes.push(x));
        log(`${name}: sync-collection on ${cal}: ${fmtCell(r.cells[name], 1)} ms`);
      }
      const a = R.syncBig.cells[name]?.value;
      const b = R.syncSmall.cells[name]?.value;
      if (a !== undefined && b !== undefined && b > 0) R.syncRatio.cells[name] = { value: a / b };

      R.rss.cells[name] = { value: sampler.stop() / MB };

      // 5. The first calendar-query after a restart.
      if (s.hits) {
        await server.restart();
        // Ready first (every worker answers: a few OPTIONS on new connections), so the timed query is the cold
        // calendar's cost, not the processes' start; the same for every server.
        for (let i = 0; i < 4; i++) await send(undefined, server.url + '/', 'OPTIONS', { Connection: 'close' }).catch(() => undefined);
        const q = await send(agent, big, 'REPORT', reportHeaders('1'), qBody);
        s.restartHits = parseMultistatus(q.body).responses.length;
        R.restart.cells[name] = q.status === 207 ? { value: q.ms } : { note: `failed (${q.status})` };
        if (s.restartHits !== s.hits.size) notes.push(`${H}: after the restart calendar-query gave ${s.restartHits} hits, before it ${s.hits.size}`);
        log(`${name}: first calendar-query after a restart ${q.ms.toFixed(0)} ms`);
      }
      if (server.gitDir) await waitForGit(server.gitDir);
      const disk = server.diskBytes();
      if (disk !== undefined) R.disk.cells[name] = { value: disk / MB };
    } finally {
      sampler.stop();
      agent.destroy();
    }
  }

  // Hits: each server against the generator, and the servers against each other.
  let agreed = true;
  const ran = CAL_ORDER.filter((x) => seen[x]);
  for (const name of ran) {
    const s = seen[name]!;
    if (!s.hits) {
      R.wrong.cells[name] = { note: R.query.cells[name]?.note ?? 'n/a' };
      continue;
    }
    if (s.partial) {
      R.wrong.cells[name] = { note: `n/a (${s.partial})` };
      continue;
    }
    const missed = [...expected].filter((x) => !s.hits!.has(x));
    const extra = [...s.hits].filter((x) => !expected.has(x));
    R.wrong.cells[name] = { note: `${missed.length} / ${extra.length}` };
    if (missed.length || extra.length) {
      agreed = false;
      const describe = (names: string[]) => {
        if (!names.length) return '0';
        const evs = names.map((x) => byName.get(x)).filter((e): e is CalEvent => !!e);
        const rec = evs.filter((e) => e.recurring).length;
        const probes = evs.filter((e) => e.probe).map((e) => `${e.name} "${e.probe}"`);
        return `${names.length} (${rec} recurring${probes.length ? `; edge cases: ${probes.join(', ')}` : ''}; e.g. ${names.slice(0, 5).join(', ')})`;
      };
      warnings.push(`WARNING: ${CAL_HEADERS[name]}'s calendar-query disagrees with the generator: missing ${describe(missed)}, extra ${describe(extra)}`);
    }
  }
  const counts = ran.filter((x) => seen[x]!.hits && !seen[x]!.partial).map((x) => `${CAL_HEADERS[x]} ${seen[x]!.hits!.size}`);
  if (new Set(ran.filter((x) => seen[x]!.hits && !seen[x]!.partial).map((x) => seen[x]!.hits!.size)).size > 1) {
    agreed = false;
    warnings.unshift(`WARNING: the servers disagree on the calendar-query hits: ${counts.join(', ')}; the generator says ${expected.size}`);
  }
  for (const w of warnings) log(w);

  const running = new Set(ran);
  const header = ['metric', ...CAL_ORDER.map((c) => CAL_HEADERS[c]), ...RATIOS.map((q) => `${SHORT[q.a]}/${SHORT[q.b]}`)];
  const body = rows.map((r) => [
    r.label,
    ...CAL_ORDER.map((c) => fmtCell(r.cells[c], r.digits, running.has(c) ? '–' : 'n/a')),
    ...RATIOS.map((q) => (r.kind === 'plain' ? '–' : ratio(r.cells[q.a], r.cells[q.b]))),
  ]);

  const lines: string[] = [];
  lines.push(`CalDAV benchmark, ${new Date().toISOString()}; node ${process.version}, ${cpus().length} CPUs, everything on 127.0.0.1.`);
  lines.push(
    `CalDAV: ${n(EVENTS)} events in one calendar (${n(recurring)} weekly recurring with COUNT or UNTIL, ${n(exdates)} with EXDATE, ${n(overrides)} with a RECURRENCE-ID override; ` +
      `${n(zoned)} in Europe/Berlin or America/New_York with a VTIMEZONE; ${PROBES.length} hand-made edge cases; ${(bytes / MB).toFixed(1)} MB of iCalendar), ` +
      `spread over 2025–2026; the query month is ${monthLabel} (UTC).`,
  );
  lines.push(
    `Servers: gitdav git and gitdav fs (this tree, --workers ${process.env.BENCH_CALDAV_WORKERS ?? availableParallelism()}); Xandikos ${missing.xandikos ? `n/a (${missing.xandikos})` : versions.xandikos}; Radicale ${missing.radicale ? `n/a (${missing.radicale})` : versions.radicale} (multifilesystem, auth none). ` +
      `One server at a time; each gets the same calendars through MKCALENDAR + PUT. Ratios are A ÷ B: for events/s above 1× is better, for ms and MB below 1× is better.`,
  );
  lines.push(`load average (1 min) during the CalDAV runs: ${load.length ? `${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}` : 'n/a'}`);
  lines.push('', markdownTable(header, body));
  if (warnings.length) lines.push('', ...warnings);
  else if (ran.some((x) => seen[x]!.hits)) lines.push('', `calendar-query hits: every server that answered agrees with the generator (${expected.size}).`);
  if (notes.length) lines.push('', 'CalDAV notes:', ...notes.map((x) => `- ${x}`));
  lines.push('', `CalDAV section: ${((Date.now() - began) / 1000).toFixed(0)} s`);
  const figures = figuresOf(
    [['calQuery', R.query], ['calMultiget', R.multiget], ['calSync', R.syncBig], ['calRestart', R.restart], ['calUploadRss', R.upRss]],
    [['gitdav', 'fs'], ['git', 'git'], ['radicale', 'radicale']],
  );
  return { lines, agreed, figures };
}

// Run alone: node dist/bench/caldav.js
if (import.meta.url === `file://${process.argv[1]}`) {
  installSignalHandlers();
  runCalDav()
    .then((r) => process.stdout.write(r.lines.join('\n') + '\n'))
    .catch((err: unknown) => {
      process.stderr.write(`bench caldav: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    })
    .finally(async () => {
      await stopAll();
      removeTempDirs();
    });
}
