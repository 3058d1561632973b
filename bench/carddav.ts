/**
 * The CardDAV section of `npm run bench` (issue 15): gitdav (git backend), gitdav (folder backend),
 * Xandikos and Radicale on the same generated contacts (bench/carddav-data.ts), one server at a time,
 * each on its own 127.0.0.1 port and temp dir (the CalDAV servers: bench/caldav-servers.ts):
 *
 * 1. the upload: every card PUT (`If-None-Match: *`) into an empty address book (extended MKCOL) by
 *    8 keep-alive clients, cards/s — into a 1,000-card and into the N-card address book;
 * 2. addressbook-query by name (FN contains, i;unicode-casemap) and by e-mail (EMAIL contains), Depth 1,
 *    getetag + address-data: p50 and p95 of RUNS after one untimed request, the hits checked against
 *    the generator's own answer;
 * 3. addressbook-multiget of 100 cards: p50;
 * 4. sync-collection after one change (token from PROPFIND, one PUT, then the timed REPORT) on both
 *    address books: on git the two should be alike (the cost follows the change, not the book);
 * 5. peak RSS: of the process tree over the whole run, and per process during the N-card upload.
 *
 * Xandikos and Radicale take ~15 PUTs/s: their uploads stop at a time cap and the rest of the cards
 * are written straight into their storage, untimed (said in the output), so the later rows run on the
 * same N cards everywhere. Run alone: `node dist/bench/carddav.js`. Knobs: BENCH_CARDDAV_CARDS
 * (default 10,000), BENCH_CARDDAV_PEERS (default git,gitdav,xandikos,radicale), BENCH_CARDDAV_RUNS
 * (default 20), BENCH_CARDDAV_PUT_SECONDS (gitdav's cap, default 600), BENCH_CARDDAV_PEER_PUT_SECONDS
 * (the peers' cap on the big upload, default 90; a fifth of it on the small one);
 * BENCH_CALDAV_WORKERS sets gitdav's --workers (default one per CPU).
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import type { Agent } from 'node:http';
import { editedCard, expectedHits, generateContacts, QUERIES, type Contact, type QueryId } from './carddav-data.js';
import { addressBookMultigetBody, addressBookQueryBody, CARD_WITHOUT_UID, mkAddressBookBody, VCARD_CONTENT_TYPE } from './carddav-http.js';
import { keepAlive, median, memberName, parseMultistatus, percentile, putAll, reportHeaders, send, syncRuns } from './caldav-http.js';
import { CAL_HEADERS, CAL_ORDER, eachCalServer, type CalName, type CalServer } from './caldav-servers.js';
import { cardVerdicts, renderCardVerdicts, type CardFigures, type CardWho } from './carddav-targets.js';
import { describeProcs, installSignalHandlers, removeTempDirs, sampleProcesses, sampleRss, stopAll } from './proc.js';
import { entriesAtTip, untilTip, waitForGit } from './git.js';
import { fmt, markdownTable, ratio, type Cell } from './table.js';

const CLIENTS = 8;
const MULTIGET = 100;
const BIG = 'bench-big';
const SMALL = 'bench-small';
const MB = 1e6;
/** A timed series stops after this long once it has MIN_RUNS (a slow peer must not take the section's budget). */
const SERIES_SECONDS = 60;
const MIN_RUNS = 5;
const WHO: Record<CalName, CardWho> = { git: 'git', gitdav: 'fs', xandikos: 'xandikos', radicale: 'radicale' };
const n = (x: number) => x.toLocaleString('en-US');

interface CardRow {
  label: string;
  digits: number;
  /** 'rate': higher is better; 'ms'/'mb': lower is better; 'plain': no ratios. */
  kind: 'rate' | 'ms' | 'mb' | 'plain';
  cells: Partial<Record<CalName, Cell>>;
}

export interface CardDavResult {
  lines: string[];
  /** Whether every server that answered the queries found exactly the generator's cards. */
  agreed: boolean;
}

export async function runCardDav(log: (msg: string) => void = (m) => process.stderr.write(`bench carddav: ${m}\n`)): Promise<CardDavResult> {
  const COUNT = Number(process.env.BENCH_CARDDAV_CARDS ?? 10_000);
  // The small book is a tenth of the big one at most (1,000 beside 10,000), so the two sync rows differ.
  const SMALL_COUNT = Math.max(1, Math.min(1000, Math.floor(COUNT / 10)));
  const RUNS = Math.max(MIN_RUNS, Number(process.env.BENCH_CARDDAV_RUNS ?? 20));
  const PUT_MAX = Number(process.env.BENCH_CARDDAV_PUT_SECONDS ?? 600);
  const PEER_PUT_MAX = Number(process.env.BENCH_CARDDAV_PEER_PUT_SECONDS ?? 90);
  const wanted = (process.env.BENCH_CARDDAV_PEERS?.split(',') ?? CAL_ORDER).filter((x): x is CalName => CAL_ORDER.includes(x as CalName));
  const began = Date.now();
  const loadStart = loadavg().map((x) => x.toFixed(2)).join(' ');
  const notes: string[] = [];
  const warnings: string[] = [];
  const rows: CardRow[] = [];
  const row = (label: string, kind: CardRow['kind'], digits = 0): CardRow => {
    const r: CardRow = { label, kind, digits, cells: {} };
    rows.push(r);
    return r;
  };

  const cards = generateContacts(COUNT);
  const small = cards.slice(0, SMALL_COUNT);
  const expected: Record<QueryId, Set<string>> = { name: expectedHits(cards, 'name'), email: expectedHits(cards, 'email') };
  const sizes = cards.map((c) => Buffer.byteLength(c.vcf)).sort((a, b) => a - b);
  const R = {
    putBig: row(`PUT ${n(COUNT)} cards into an empty address book, ${CLIENTS} clients, cards/s`, 'rate', 1),
    putSmall: row(`PUT ${n(SMALL_COUNT)} cards into an empty address book, ${CLIENTS} clients, cards/s`, 'rate', 1),
    qName: row(`addressbook-query FN contains "${QUERIES.name.text}" (${QUERIES.name.collation}), p50 of ${RUNS}, ms`, 'ms', 1),
    qName95: row(`… p95, ms`, 'ms', 1),
    qNameHits: row(`… hits (the generator says ${n(expected.name.size)}): missing / extra`, 'plain'),
    qEmail: row(`addressbook-query EMAIL contains "${QUERIES.email.text}", p50 of ${RUNS}, ms`, 'ms', 1),
    qEmail95: row(`… p95, ms`, 'ms', 1),
    qEmailHits: row(`… hits (the generator says ${n(expected.email.size)}): missing / extra`, 'plain'),
    multiget: row(`addressbook-multiget, ${MULTIGET} cards, p50 of ${RUNS}, ms`, 'ms', 1),
    syncBig: row(`sync-collection after 1 change, ${n(COUNT)}-card book, p50 of ${RUNS}, ms`, 'ms', 1),
    syncSmall: row(`sync-collection after 1 change, ${n(SMALL_COUNT)}-card book, p50 of ${RUNS}, ms`, 'ms', 1),
    syncRatio: row(`sync-collection ${n(COUNT)} ÷ ${n(SMALL_COUNT)} cards (≈1: cost follows the change)`, 'plain', 2),
    rss: row('peak RSS of the process tree over the whole run, MB', 'mb', 1),
    upRss: row(`peak RSS during the ${n(COUNT)}-card upload, largest process, MB`, 'mb', 1),
    disk: row('storage on disk at the end (du -sb of its temp dir), MB', 'mb', 1),
  };
  const agreed = { value: true };
  const versions: Partial<Record<CalName, string>> = {};
  const missing: Partial<Record<CalName, string>> = {};
  const load: number[] = [];
  const loadTimer = setInterval(() => load.push(loadavg()[0]!), 5000);

  /** RUNS timed requests after one untimed; stops early (said in a note) past SERIES_SECONDS once MIN_RUNS are in. */
  async function series(what: string, H: string, once: () => Promise<{ status: number; ms: number }>): Promise<number[]> {
    const t0 = Date.now();
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await once();
      if (r.status !== 207) throw new Error(`${what} run ${i} answered ${r.status}`);
      times.push(r.ms);
      if (i + 1 >= MIN_RUNS && Date.now() - t0 > SERIES_SECONDS * 1000 && i + 1 < RUNS) {
        notes.push(`${H}: ${what}: stopped after ${i + 1} of ${RUNS} runs (${SERIES_SECONDS} s cap)`);
        break;
      }
    }
    return times;
  }

  async function query(server: CalServer, agent: Agent, q: QueryId, p50: CardRow, p95: CardRow, hits: CardRow): Promise<void> {
    const H = CAL_HEADERS[server.name];
    const url = server.url + server.addressBook(BIG);
    const body = addressBookQueryBody(q);
    const first = await send(agent, url, 'REPORT', reportHeaders('1'), body);
    if (first.status !== 207) {
      for (const r of [p50, p95, hits]) r.cells[server.name] = { note: `n/a (${first.status})` };
      notes.push(`${H}: addressbook-query by ${q} answered ${first.status}: ${first.body.slice(0, 200).replace(/\s+/g, ' ')}`);
      return;
    }
    const ms = parseMultistatus(first.body);
    const got = new Set(ms.responses.map((x) => memberName(x.href)));
    const bad = ms.responses.filter((x) => x.status !== 200 || !x.hasCardData).length;
    if (bad) notes.push(`${H}: ${bad} of ${ms.responses.length} answers to the query by ${q} lack a 200 propstat with address-data`);
    const missed = [...expected[q]].filter((x) => !got.has(x));
    const extra = [...got].filter((x) => !expected[q].has(x));
    hits.cells[server.name] = { note: `${missed.length} / ${extra.length}` };
    if (missed.length || extra.length) {
      agreed.value = false;
      warnings.push(`WARNING: ${H}'s query by ${q} found ${got.size}, the generator ${expected[q].size}: missing ${missed.slice(0, 5).join(', ') || 'none'}, extra ${extra.slice(0, 5).join(', ') || 'none'}`);
    }
    const times = await series(`addressbook-query by ${q}`, H, () => send(agent, url, 'REPORT', reportHeaders('1'), body));
    p50.cells[server.name] = { value: median(times) };
    p95.cells[server.name] = { value: percentile(times, 95) };
    notes.push(`${H}: query by ${q}: first ${first.ms.toFixed(0)} ms, runs ${Math.min(...times).toFixed(1)}–${Math.max(...times).toFixed(1)} ms, ${got.size} hits, ${(first.body.length / MB).toFixed(2)} MB answer`);
    log(`${server.name}: query by ${q} p50 ${median(times).toFixed(1)} ms, ${got.size} hits`);
  }

  async function upload(server: CalServer, book: string, items: Contact[], r: CardRow, cap: number, sampleProcs: boolean): Promise<void> {
    const H = CAL_HEADERS[server.name];
    const url = server.url + server.addressBook(book);
    log(`${server.name}: PUT ${n(items.length)} cards (cap ${cap} s)…`);
    const procs = sampleProcs ? sampleProcesses(server.pid(), 250, true) : undefined;
    const up = await putAll(url, items.map((c) => ({ name: c.name, body: c.vcf })), VCARD_CONTENT_TYPE, CLIENTS, cap);
    if (procs) {
      const peaks = procs.stop();
      R.upRss.cells[server.name] = { value: Math.max(...peaks.map((p) => p.peak)) / MB };
      notes.push(`${H}: peak RSS during the ${n(items.length)}-card upload: ${describeProcs(peaks)}`);
    }
    log(`${server.name}: ${up.done} PUTs in ${up.seconds.toFixed(1)} s, ${up.rate.toFixed(1)}/s, ${up.errors} errors`);
    if (up.errors) notes.push(`${H}, ${r.label}: ${up.errors} of ${up.done} PUTs failed (first: ${up.firstError})`);
    r.cells[server.name] = up.errors >= up.done ? { note: 'failed' } : { value: up.rate };
    if (up.done < items.length) {
      const rest = items.slice(up.done);
      r.cells[server.name] = { value: up.rate, note: `first ${n(up.done)}, ${cap} s cap` };
      if (!server.bulkFill) throw new Error(`the upload stopped after ${up.done} cards and ${H} has no bulk fill`);
      server.bulkFill(server.addressBook(book), rest.map((c) => ({ name: c.name, body: c.vcf })));
      notes.push(
        `${H}: the ${cap} s cap stopped the ${n(items.length)}-card upload after ${n(up.done)} PUTs (${up.rate.toFixed(1)}/s, measured on those first cards only); ` +
          `the other ${n(rest.length)} cards were written straight into its storage, untimed`,
      );
    }
  }

  async function measure(server: CalServer): Promise<void> {
    const name = server.name;
    const H = CAL_HEADERS[name];
    const tree = sampleRss(server.pid(), 250);
    const agent = keepAlive();
    const gitdav = name === 'git' || name === 'gitdav';
    try {
      for (const book of [SMALL, BIG]) {
        const r = await send(agent, server.url + server.addressBook(book), 'MKCOL', { 'Content-Type': 'application/xml; charset=utf-8' }, mkAddressBookBody(book));
        if (r.status !== 201) throw new Error(`extended MKCOL ${server.addressBook(book)} answered ${r.status}: ${r.body.slice(0, 200)}`);
      }
      await upload(server, SMALL, small, R.putSmall, gitdav ? PUT_MAX : Math.ceil(PEER_PUT_MAX / 5), false);
      await upload(server, BIG, cards, R.putBig, gitdav ? PUT_MAX : PEER_PUT_MAX, true);
      // gitdav git runs `git gc --auto` in the background every 500 commits: let it finish (untimed).
      if (server.gitDir) {
        const w = await waitForGit(server.gitDir);
        if (w.seconds >= 0.5 || w.killed) notes.push(`${H}: waited ${w.seconds.toFixed(1)} s after the uploads for its background git gc${w.killed ? `, then killed ${w.killed}` : ''}`);
      }
      // Does it list what it was given? (untimed)
      for (const [book, count] of [[SMALL, SMALL_COUNT], [BIG, COUNT]] as const) {
        const pf = await send(agent, server.url + server.addressBook(book), 'PROPFIND', reportHeaders('1'), '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>');
        const members = parseMultistatus(pf.body).responses.length - 1;
        if (pf.status !== 207 || members !== count) notes.push(`${H}: PROPFIND Depth 1 on ${book} gave ${pf.status} with ${members} members, want ${count}`);
      }

      await query(server, agent, 'name', R.qName, R.qName95, R.qNameHits);
      await query(server, agent, 'email', R.qEmail, R.qEmail95, R.qEmailHits);

      const book = server.addressBook(BIG);
      const picks = Array.from({ length: Math.min(MULTIGET, COUNT) }, (_, i) => cards[Math.floor((i * COUNT) / Math.min(MULTIGET, COUNT))]!);
      const mBody = addressBookMultigetBody(picks.map((c) => book + c.name));
      const warm = await send(agent, server.url + book, 'REPORT', reportHeaders('0'), mBody);
      const good = parseMultistatus(warm.body).responses.filter((x) => x.status === 200 && x.hasCardData).length;
      if (warm.status !== 207 || good !== picks.length) {
        notes.push(`${H}: addressbook-multiget gave ${warm.status} with ${good} of ${picks.length} cards: ${warm.status === 207 ? '' : warm.body.slice(0, 160).replace(/\s+/g, ' ')}`);
      }
      if (warm.status === 207) {
        const times = await series('addressbook-multiget', H, () => send(agent, server.url + book, 'REPORT', reportHeaders('0'), mBody));
        R.multiget.cells[name] = { value: median(times) };
        notes.push(`${H}: multiget of ${MULTIGET}: p95 ${percentile(times, 95).toFixed(1)} ms`);
      } else R.multiget.cells[name] = { note: `n/a (${warm.status})` };
      log(`${name}: multiget ${fmt(R.multiget.cells[name], 1)} ms`);

      // The target is the steady state, a book whose cards are committed: inside the open burst that
      // wrote them a token's state is a delta over the tip naming every card the burst added, and its
      // cost follows that burst (docs/carddav.md). A full run's queries outlast the burst; a short one may not.
      if (server.gitDir) {
        for (const [b, count] of [[SMALL, SMALL_COUNT], [BIG, COUNT]] as const) {
          const dir = decodeURIComponent(server.addressBook(b)).replace(/^\/+|\/+$/g, '');
          const waited = await untilTip(server.gitDir, (g) => entriesAtTip(g, dir, /\.vcf$/) >= count, 180_000, 100);
          if (waited === undefined) notes.push(`${H}: ${b}'s cards were not all on main after 180 s: its sync runs were inside the open burst`);
          else if (waited >= 100) notes.push(`${H}: waited ${(waited / 1000).toFixed(1)} s for the upload's burst to be committed before the sync runs on ${b}`);
        }
      }
      const change = { body: editedCard, contentType: VCARD_CONTENT_TYPE };
      for (const [r, b, items] of [[R.syncBig, BIG, cards], [R.syncSmall, SMALL, small]] as const) {
        r.cells[name] = await syncRuns(agent, b, server.url + server.addressBook(b), items, RUNS, H, (x) => notes.push(x), change);
        log(`${name}: sync-collection on ${b}: ${fmt(r.cells[name], 1)} ms`);
      }
      const a = R.syncBig.cells[name]?.value;
      const b = R.syncSmall.cells[name]?.value;
      if (a !== undefined && b !== undefined && b > 0) R.syncRatio.cells[name] = { value: a / b };

      // Does PUT check what it stores? A card without UID (untimed, removed again if stored).
      const bad = await send(agent, server.url + server.addressBook(SMALL) + 'bench-no-uid.vcf', 'PUT', { 'Content-Type': VCARD_CONTENT_TYPE }, CARD_WITHOUT_UID);
      notes.push(`${H}: PUT of a card without UID answered ${bad.status}${bad.status < 300 ? ' (stored: no vCard validation)' : ''}`);
      if (bad.status < 300) await send(agent, server.url + server.addressBook(SMALL) + 'bench-no-uid.vcf', 'DELETE');
      if (server.gitDir) await waitForGit(server.gitDir);
      R.rss.cells[name] = { value: tree.stop() / MB };
      const disk = server.diskBytes();
      if (disk !== undefined) R.disk.cells[name] = { value: disk / MB };
    } finally {
      tree.stop();
      agent.destroy();
    }
  }

  try {
    await eachCalServer({ wanted, missing, versions, notes, log }, measure);
  } finally {
    clearInterval(loadTimer);
  }

  const running = new Set(CAL_ORDER.filter((c) => versions[c]));
  const ratios: [CalName, CalName][] = [['git', 'xandikos'], ['git', 'radicale'], ['gitdav', 'xandikos'], ['gitdav', 'radicale']];
  const short = (c: CalName) => ({ git: 'git', gitdav: 'fs', xandikos: 'Xandikos', radicale: 'Radicale' })[c];
  const header = ['metric', ...CAL_ORDER.map((c) => CAL_HEADERS[c]), ...ratios.map(([a, b]) => `${short(a)}/${short(b)}`)];
  const body = rows.map((r) => [
    r.label,
    ...CAL_ORDER.map((c) => fmt(r.cells[c], r.digits, running.has(c) ? '–' : 'n/a')),
    ...ratios.map(([a, b]) => (r.kind === 'plain' ? '–' : ratio(r.cells[a], r.cells[b]))),
  ]);
  const figure = (r: CardRow) => Object.fromEntries(CAL_ORDER.filter((c) => r.cells[c]?.value !== undefined).map((c) => [WHO[c], r.cells[c]!.value!]));
  const figures: CardFigures = { upload: figure(R.putBig), queryName: figure(R.qName), queryEmail: figure(R.qEmail), syncBig: figure(R.syncBig), syncSmall: figure(R.syncSmall) };
  const v4 = cards.filter((c) => c.vcf.includes('VERSION:4.0')).length;
  const nonAscii = cards.filter((c) => /[^\x00-\x7f]/.test(c.fn)).length;
  const lines = [
    `CardDAV benchmark, ${new Date().toISOString()}; node ${process.version}, ${cpus().length} CPUs, everything on 127.0.0.1.`,
    `${n(COUNT)} generated contacts (${n(COUNT - v4)} vCard 3.0, ${n(v4)} 4.0; ${n(nonAscii)} with non-ASCII names; ${sizes[0]}–${sizes[sizes.length - 1]} bytes, median ${sizes[sizes.length >> 1]}; ` +
      `${(sizes.reduce((s, x) => s + x, 0) / MB).toFixed(1)} MB): FN, N, 1–2 EMAIL, TEL, ORG, sometimes TITLE, ADR, BDAY, NOTE, URL, NICKNAME.`,
    `Servers: gitdav git and gitdav fs (this tree, --workers ${process.env.BENCH_CALDAV_WORKERS ?? availableParallelism()}); Xandikos ${missing.xandikos ? `n/a (${missing.xandikos})` : versions.xandikos}; ` +
      `Radicale ${missing.radicale ? `n/a (${missing.radicale})` : versions.radicale} (multifilesystem, auth none). One server at a time; each gets the same two address books by extended MKCOL + PUT. ` +
      `Ratios are A ÷ B: for cards/s above 1× is better, for ms and MB below 1× is better.`,
    `load average (1/5/15 min) at the start of the section: ${loadStart}; at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}; 1-min samples during it: ${load.length ? `${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}` : 'n/a'}`,
    '',
    markdownTable(header, body),
    ...(warnings.length ? ['', ...warnings] : []),
    '',
    'Targets (issue 15):',
    '',
    ...renderCardVerdicts(cardVerdicts(figures, COUNT, SMALL_COUNT)),
    ...(COUNT !== 10_000 ? [`NOT the issue's size (${n(COUNT)} cards, not 10,000): the verdicts are only indicative.`] : []),
    ...(notes.length ? ['', 'CardDAV notes:', ...notes.map((x) => `- ${x}`)] : []),
    '',
    `CardDAV section: ${((Date.now() - began) / 1000).toFixed(0)} s`,
  ];
  return { lines, agreed: agreed.value };
}

// Run alone: node dist/bench/carddav.js
if (import.meta.url === `file://${process.argv[1]}`) {
  installSignalHandlers();
  runCardDav()
    .then((r) => process.stdout.write(r.lines.join('\n') + '\n'))
    .catch((err: unknown) => {
      process.stderr.write(`bench carddav: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    })
    .finally(async () => {
      await stopAll();
      removeTempDirs();
    });
}
