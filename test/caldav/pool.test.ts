/**
 * The calendar pool (lib/caldav/bounds-pool.ts): the first time-range query over a calendar gets the
 * bounds of objects the index does not know from worker threads. Answers are byte for byte those of a
 * server without threads, on a cold index and a warm one; an object that does not parse is skipped as
 * before; a pool whose threads throw or die changes no answer (the event loop does the work); the pool
 * closes with the server. Under a tight step budget the answers are those without threads too (each
 * object charged once), the threads never hold more than the rest of the budget, and a query's tasks
 * are cancelled when it ends. Long multistatus answers let other callbacks run while they are rendered.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { raw, startTestServer, type BackendName, type TestServer } from '../helpers/server.js';
import { ics } from '../helpers/fixtures.js';
import { acquireCalendarPool, CalendarPool, releaseCalendarPool } from '../../lib/caldav/bounds-pool.js';
import type { BoundsTask } from '../../lib/caldav/bounds-worker.js';
import { installCalDav } from '../../lib/caldav/index.js';
import { INDEX_FILE } from '../../lib/caldav/state/object-index.js';
import { createDav } from '../../lib/dav/index.js';
import { FsBackend } from '../../backends/fs/index.js';
import { sendMultistatus } from '../../lib/dav/multistatus.js';
import { el } from '../../lib/dav/xml/write.js';
import { dav } from '../../lib/dav/xml/names.js';
import type { Context } from 'koa';

const CAL = '/calendars/user/calendar/';
const C = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"';
const FAILING = fileURLToPath(new URL('../helpers/failing-bounds-worker.js', import.meta.url));

const event = (uid: string, ...props: string[]) => ics('BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20240101T000000Z', ...props, 'END:VEVENT');

/** 60 events over 2024 (some weekly, some floating, some all-day), a task, and one object that does not parse. */
function objects(): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < 60; i++) {
    const month = String(1 + (i % 12)).padStart(2, '0');
    const day = String(1 + (i % 27)).padStart(2, '0');
    const when = i % 5 === 0 ? [`DTSTART;VALUE=DATE:2024${month}${day}`] : i % 7 === 0 ? [`DTSTART:2024${month}${day}T090000`, 'DURATION:PT1H'] : [`DTSTART:2024${month}${day}T090000Z`, 'DTEND:2024' + month + day + 'T100000Z'];
    const rule = i % 4 === 0 ? ['RRULE:FREQ=WEEKLY;COUNT=6'] : [];
    out[`ev-${i}.ics`] = event(`ev-${i}`, ...when, ...rule, `SUMMARY:event ${i}${i === 13 ? ' EXIT-THREAD' : ''}`);
  }
  out['task.ics'] = ics('BEGIN:VTODO', 'UID:task', 'DTSTAMP:20240101T000000Z', 'DUE:20240315T100000Z', 'END:VTODO');
  out['broken.ics'] = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:broken\r\nDTSTART:notadate\r\n';
  return out;
}

function queryBody(start: string, end: string, expand = false): string {
  const data = expand ? `<C:calendar-data><C:expand start="${start}" end="${end}"/></C:calendar-data>` : '<C:calendar-data/>';
  return `<?xml version="1.0"?><C:calendar-query ${C}><D:prop><D:getetag/>${data}</D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="${start}" end="${end}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`;
}

/** Each query's <D:response> elements, sorted (listing order may differ between two servers). */
async function answers(url: string): Promise<string[]> {
  const out: string[] = [];
  for (const [start, end, expand] of [
    ['20240301T000000Z', '20240401T000000Z', false],
    ['20240101T000000Z', '20250101T000000Z', false],
    ['20240601T000000Z', '20240801T000000Z', true],
  ] as const) {
    const r = await raw(url, CAL, { method: 'REPORT', headers: { Depth: '1', 'Content-Type': 'application/xml' }, body: queryBody(start, end, expand) });
    assert.equal(r.status, 207, r.text);
    // ETags on folders name inode and mtime: the same text has another ETag on another server.
    const responses = r.text.split(/(?=<D:response>)/).slice(1).map((x) => x.replace(/<\/D:multistatus>\s*$/, '').replace(/<D:getetag>[^<]*<\/D:getetag>/, '<D:getetag/>'));
    out.push(responses.sort().join(''));
  }
  return out;
}

/** A server with CalDAV and `pool` (undefined: the process's pool as configured; threads: `threads`), filled with objects(). */
async function filled(backend: BackendName, pool: CalendarPool | undefined, threads: number): Promise<TestServer> {
  const s = await startTestServer({ backend, caldav: pool ? { pool } : true, dav: { limits: { calendarThreads: threads } as never } });
  for (const [name, body] of Object.entries(objects())) {
    if (name === 'broken.ics') continue;
    const r = await raw(s.url, CAL + name, { method: 'PUT', headers: { 'Content-Type': 'text/calendar' }, body });
    assert.ok(r.status === 201 || r.status === 204, `${name}: ${r.status} ${r.text}`);
  }
  // Stored behind the server's back (a PUT refuses it): the folder backend serves what is on disk.
  if (backend === 'fs') await writeFile(join(s.root, 'calendars', 'user', 'calendar', 'broken.ics'), objects()['broken.ics']!);
  return s;
}

for (const backend of ['fs', 'git'] as const) {
  describe(`calendar pool (${backend})`, function () {
    this.timeout(60_000);
    let plain: TestServer;
    let expected: string[];

    before(async () => {
      plain = await filled(backend, new CalendarPool(0), 0);
      expected = await answers(plain.url);
      // The same server, its index now warm: the same answers.
      assert.deepEqual(await answers(plain.url), expected);
      assert.ok(expected[1]!.includes('ev-1.ics') && !expected[1]!.includes('broken.ics'));
    });
    after(() => plain.close());

    it('answers byte for byte as a server without threads, on a cold index and a warm one', async () => {
      const pool = new CalendarPool(2);
      const s = await filled(backend, pool, 2);
      try {
        assert.deepEqual(await answers(s.url), expected);
        assert.ok(pool.completed > 0, 'the pool computed bounds');
        assert.deepEqual(await answers(s.url), expected);
      } finally {
        await s.close();
        await pool.close();
      }
    });

    it('a pool whose threads throw or die changes no answer: the event loop does the work', async () => {
      const pool = new CalendarPool(1, FAILING);
      const s = await filled(backend, pool, 1);
      try {
        assert.deepEqual(await answers(s.url), expected);
        assert.equal(pool.completed, 0);
        // The server still answers other requests.
        assert.equal((await raw(s.url, CAL, { method: 'PROPFIND', headers: { Depth: '0' } })).status, 207);
      } finally {
        await s.close();
        await pool.close();
      }
    });
  });
}

/**
 * A server over 40 weekly events of 2024 (a one-year query matches every one), with `pool` and
 * `budget`, whose object index is cold: filled by another server, whose saved index is then removed.
 */
async function coldServer(backend: BackendName, pool: CalendarPool, budget: number): Promise<TestServer & { cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'gitdav-pool-'));
  const filler = await startTestServer({ root, backend, caldav: { pool: new CalendarPool(0) } });
  try {
    for (let i = 0; i < 40; i++) {
      const m = String(1 + (i % 12)).padStart(2, '0');
      const body = event(`r${i}`, `DTSTART:2024${m}05T090000Z`, `DTEND:2024${m}05T100000Z`, 'RRULE:FREQ=WEEKLY;COUNT=10', `SUMMARY:recurring ${i}`);
      const r = await raw(filler.url, `${CAL}r${i}.ics`, { method: 'PUT', headers: { 'Content-Type': 'text/calendar' }, body });
      assert.ok(r.status === 201 || r.status === 204, `${r.status} ${r.text}`);
    }
  } finally {
    await filler.close();
  }
  // What the PUTs indexed (git: an object's ETag is its content's) is forgotten.
  for (const f of await readdir(root, { recursive: true })) if (basename(f) === INDEX_FILE) await rm(join(root, f));
  const s = await startTestServer({ root, backend, caldav: { pool }, dav: { limits: { calendarThreads: pool.threads, maxCalendarSteps: budget } as never } });
  return { ...s, cleanup: async () => {
    await s.close();
    await pool.close();
    await rm(root, { recursive: true, force: true });
  } };
}

/** A pool that records the steps and signals its tasks were given, and the most steps held at once. */
class RecordingPool extends CalendarPool {
  held = 0;
  mostHeld = 0;
  signals: AbortSignal[] = [];
  override async bounds(task: BoundsTask, signal?: AbortSignal): ReturnType<CalendarPool['bounds']> {
    if (signal) this.signals.push(signal);
    this.held += task.maxSteps;
    this.mostHeld = Math.max(this.mostHeld, this.held);
    try {
      return await super.bounds(task, signal);
    } finally {
      this.held -= task.maxSteps;
    }
  }
}

/** The one-year query's response count, and whether it was cut short (507). */
async function yearQuery(s: TestServer): Promise<{ found: string[]; truncated: boolean }> {
  const r = await raw(s.url, CAL, { method: 'REPORT', headers: { Depth: '1', 'Content-Type': 'application/xml' }, body: queryBody('20240101T000000Z', '20250101T000000Z') });
  assert.equal(r.status, 207, r.text);
  return { found: [...r.text.matchAll(/r\d+\.ics/g)].map((m) => m[0]).sort(), truncated: r.text.includes('number-of-matches-within-limits') };
}

// Measured: the one-year query over coldServer()'s events takes ~2,950 steps on a cold index; a pool that charged each
// matching object's parse twice needed ~5,000.
const TIGHT = 3_600;

for (const backend of ['fs', 'git'] as const) {
  describe(`calendar pool under a tight step budget (${backend})`, function () {
    this.timeout(60_000);

    it('a query that fits its budget without threads fits it with them, on a cold index', async () => {
      const results = [];
      const pools: RecordingPool[] = [];
      for (const threads of [0, 1, 2]) {
        const pool = new RecordingPool(threads);
        const s = await coldServer(backend, pool, TIGHT);
        try {
          results.push(await yearQuery(s));
        } finally {
          await s.cleanup();
        }
        pools.push(pool);
      }
      assert.deepEqual(results[0], { found: results[0]!.found, truncated: false }, 'without threads the query fits (else TIGHT needs raising)');
      assert.equal(results[0]!.found.length, 40);
      assert.deepEqual(results[1], results[0]);
      assert.deepEqual(results[2], results[0]);
      for (const pool of pools.slice(1)) {
        assert.ok(pool.completed > 0, 'the pool computed bounds');
        assert.ok(pool.mostHeld <= TIGHT, `tasks in flight held ${pool.mostHeld} steps, more than the budget`);
        assert.ok(pool.signals.length > 0 && pool.signals.every((x) => x.aborted), 'every task\'s signal is aborted once the query ended');
      }
    });

    it('a query over its budget: 507 with threads as without, and its tasks are cancelled', async () => {
      const pool = new RecordingPool(1);
      const s = await coldServer(backend, pool, 1_000);
      try {
        const r = await yearQuery(s);
        assert.ok(r.truncated && r.found.length < 40);
        assert.ok(pool.mostHeld <= 1_000);
        assert.ok(pool.signals.length > 0 && pool.signals.every((x) => x.aborted));
        // The server answers on, with threads.
        assert.equal((await raw(s.url, CAL, { method: 'PROPFIND', headers: { Depth: '0' } })).status, 207);
      } finally {
        await s.cleanup();
      }
    });
  });
}

describe('calendar pool lifetime', function () {
  this.timeout(60_000);

  it('the process pool starts with the first query and closes with the server (no hang)', async () => {
    const s = await filled('fs', undefined, 1);
    assert.equal((await answers(s.url)).length, 3);
    await s.close(); // mocha's timeout is the hang detector
  });

  it('a mount whose setup fails does not keep the process pool', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gitdav-pool-'));
    const backend = await FsBackend.open({ root: dir });
    try {
      backend.mkcol = async () => {
        throw new Error('setup fails on purpose');
      };
      const dav = await createDav({ backend });
      await assert.rejects(installCalDav(dav), /on purpose/);
      await dav.close();
      // Had the failed mount kept its count, this release would not end the pool.
      const pool = acquireCalendarPool(1);
      await releaseCalendarPool();
      assert.equal((await pool.bounds({ text: objects()['ev-1.ics']!, maxSteps: 1_000_000 })).kind, 'unavailable');
    } finally {
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('cancelling a running task leaves no other task waiting on a thread that is gone', async () => {
    const pool = new CalendarPool(1, FAILING);
    try {
      const hold = new SharedArrayBuffer(8);
      const cells = new Int32Array(hold);
      const cancel = new AbortController();
      const running = pool.bounds({ text: '', maxSteps: 1, hold } as BoundsTask, cancel.signal);
      while (Atomics.load(cells, 1) === 0) await new Promise((r) => setImmediate(r));
      const queued = pool.bounds({ text: 'EXIT-THREAD', maxSteps: 1 });
      cancel.abort(); // piscina ends the thread the running task is on
      assert.equal((await running).kind, 'unavailable');
      assert.equal((await queued).kind, 'unavailable'); // mocha's timeout catches a task left waiting
    } finally {
      await pool.close();
    }
  });

  it('a closed pool answers unavailable, and closing twice is harmless', async () => {
    const pool = new CalendarPool(1);
    const r = await pool.bounds({ text: objects()['ev-1.ics']!, maxSteps: 1_000_000 });
    assert.equal(r.kind, 'bounds');
    const broken = await pool.bounds({ text: objects()['broken.ics']!, maxSteps: 1_000_000 });
    assert.equal(broken.kind, 'unparsed');
    const spent = await pool.bounds({ text: objects()['ev-0.ics']!, maxSteps: 3 });
    assert.equal(spent.kind, 'budget');
    await pool.close();
    await pool.close();
    assert.equal((await pool.bounds({ text: objects()['ev-1.ics']!, maxSteps: 1_000_000 })).kind, 'unavailable');
  });
});

describe('multistatus rendering yields', function () {
  this.timeout(60_000);

  it('a long answer lets other callbacks run while it is rendered', async () => {
    const ctx = {} as Context;
    const text = 'x'.repeat(2048);
    const responses = Array.from({ length: 20_000 }, (_, i) => el(dav('response'), el(dav('href'), `/f/${i}`), el(dav('status'), text)));
    sendMultistatus(ctx, responses);
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const startTurns = turns;
    let bytes = 0;
    for await (const chunk of ctx.body as AsyncIterable<Buffer>) bytes += chunk.length;
    ticking = false;
    assert.ok(bytes > 20_000 * 2048);
    assert.ok(turns > startTurns, 'the event loop turned while the answer was rendered');
  });
});
