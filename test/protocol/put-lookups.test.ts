/**
 * How many look-ups a PUT makes, in steps (never time): the target and its parent are each looked
 * up once before the write, and the backend's atomic step checks the state it is about to change.
 * Counted through a proxy over the backend (test/helpers/counting-backend.ts) and, on git, the probe
 * of ref reads, commit reads and tree walks. GITDAV_PRINT_STEPS=1 prints the counts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parentOf, type Backend, type WriteOptions } from '../../backends/backend.js';
import { FsBackend } from '../../backends/fs/index.js';
import { GitBackend } from '../../backends/git/index.js';
import { createApp, listen, type RunningServer } from '../../lib/server.js';
import { countingBackend, probeGit, StepLog, type Phase } from '../helpers/counting-backend.js';
import { ics } from '../helpers/fixtures.js';
import { raw, type BackendName } from '../helpers/server.js';

const CAL = '/calendars/user/calendar';
const event = (uid: string, summary: string) => ics('BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', 'DTSTART:20260105T090000Z', 'DURATION:PT1H', `SUMMARY:${summary}`, 'END:VEVENT');
const calendarPut = (body: string) => ({ method: 'PUT', body, headers: { 'Content-Type': 'text/calendar' } });

type Kind = 'webdav' | 'caldav-plain' | 'calendar';

interface Case {
  name: string;
  /** WebDAV only; a plain file with CalDAV installed (whose hook reads the parent's properties); a calendar object. */
  kind: Kind;
  /** Requests before the counted one (warm-up included: a first PUT builds caches). */
  setup: Array<[string, { method: string; body?: string; headers?: Record<string, string> }]>;
  path: string;
  request: { method: string; body: string; headers?: Record<string, string> };
  status: number;
}

const CASES: Case[] = [
  {
    name: 'a plain PUT of a new file (WebDAV only)',
    kind: 'webdav',
    setup: [['/docs', { method: 'MKCOL' }], ['/docs/warm.txt', { method: 'PUT', body: 'w' }]],
    path: '/docs/new.txt',
    request: { method: 'PUT', body: 'hello' },
    status: 201,
  },
  {
    name: 'a plain PUT replacing a file (WebDAV only)',
    kind: 'webdav',
    setup: [['/docs', { method: 'MKCOL' }], ['/docs/old.txt', { method: 'PUT', body: 'w' }]],
    path: '/docs/old.txt',
    request: { method: 'PUT', body: 'hello' },
    status: 204,
  },
  {
    name: 'a plain PUT of a new file (CalDAV installed)',
    kind: 'caldav-plain',
    setup: [['/docs', { method: 'MKCOL' }], ['/docs/warm.txt', { method: 'PUT', body: 'w' }]],
    path: '/docs/new.txt',
    request: { method: 'PUT', body: 'hello' },
    status: 201,
  },
  {
    name: 'a plain PUT replacing a file (CalDAV installed)',
    kind: 'caldav-plain',
    setup: [['/docs', { method: 'MKCOL' }], ['/docs/old.txt', { method: 'PUT', body: 'w' }]],
    path: '/docs/old.txt',
    request: { method: 'PUT', body: 'hello' },
    status: 204,
  },
  {
    name: 'a PUT of a new calendar object',
    kind: 'calendar',
    setup: [[`${CAL}/warm.ics`, calendarPut(event('warm', 'Warm-up'))]],
    path: `${CAL}/new.ics`,
    request: calendarPut(event('new', 'Dentist')),
    status: 201,
  },
  {
    name: 'a PUT replacing a calendar object',
    kind: 'calendar',
    setup: [[`${CAL}/warm.ics`, calendarPut(event('warm', 'Warm-up'))], [`${CAL}/old.ics`, calendarPut(event('old', 'Dentist'))]],
    path: `${CAL}/old.ics`,
    request: calendarPut(event('old', 'Dentist, moved')),
    status: 204,
  },
];

/** A server on `inner` (wrapped by `wrap`), the setup requests made, then `body` with its URL. */
async function withServer<T>(inner: Backend, caldav: boolean, wrap: (b: Backend) => Backend, body: (url: string) => Promise<T>): Promise<T> {
  const app = await createApp({ backend: wrap(inner), caldav: caldav ? {} : false });
  let running: RunningServer | undefined;
  try {
    running = await listen(app, '127.0.0.1', 0);
    return await body(running.url);
  } finally {
    if (running) await running.close(1000);
    else await app.close();
  }
}

async function openBackend(name: BackendName, root: string): Promise<Backend> {
  return name === 'git' ? GitBackend.open({ root, burstWindowMs: 600_000 }) : FsBackend.open({ root });
}

async function counted(backendName: BackendName, c: Case): Promise<StepLog> {
  const root = await mkdtemp(join(tmpdir(), 'gitdav-steps-'));
  const log = new StepLog();
  const stopProbe = backendName === 'git' ? probeGit(log) : () => undefined;
  try {
    const backend = await openBackend(backendName, root);
    return await withServer(backend, c.kind !== 'webdav', (b) => countingBackend(b, log), async (url) => {
      for (const [path, req] of c.setup) assert.ok((await raw(url, path, req)).status < 300, `setup ${req.method} ${path}`);
      // The setup's bursts committed now, not by a timer firing while the PUT is counted.
      if (backend instanceof GitBackend) await backend.commitJournal();
      log.reset();
      const r = await raw(url, c.path, c.request);
      assert.equal(r.status, c.status, r.text);
      return log;
    });
  } finally {
    stopProbe();
    await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

const BEFORE: Phase[] = ['before'];
const WRITE: Phase[] = ['write'];

for (const backend of ['fs', 'git'] as BackendName[]) {
  describe(`PUT looks things up once (${backend} backend)`, function () {
    this.timeout(30_000);
    for (const c of CASES) {
      it(`${c.name}: the target and its parent are each looked up once before the write`, async () => {
        const log = await counted(backend, c);
        const summary = JSON.stringify(log.summary(c.path), null, 1);
        if (process.env.GITDAV_PRINT_STEPS) console.log(`${backend} | ${c.name}\n${summary}`);
        const parent = parentOf(c.path);
        const atMost = (n: number, kind: string, path: string | ((p: string) => boolean), phases: Phase[], what: string) =>
          assert.ok(log.count(kind, path, phases) <= n, `${what}: at most ${n}, got ${log.count(kind, path, phases)}\n${summary}`);

        // Through the contract, before the write: one stat each (req.target()), which the early
        // precondition check and the hooks reuse. On the folder backend the UID index also checks
        // that it is current against the calendar's ETag when it decides (uid-index.ts), and after
        // the write it records the calendar's new ETag.
        atMost(1, 'stat', c.path, BEFORE, 'stats of the target');
        atMost(c.kind === 'calendar' && backend === 'fs' ? 2 : 1, 'stat', parent, BEFORE, 'stats of the parent');
        atMost(c.kind === 'webdav' ? 0 : 1, 'props', parent, BEFORE, "reads of the parent's properties");
        atMost(c.kind === 'calendar' && backend === 'fs' ? 1 : 0, 'stat', () => true, ['after'], 'stats after the write');
        // The UID index catches up by the calendar's changes (git) or trusts its ETag (fs): no listing.
        atMost(0, 'list', () => true, ['before', 'write', 'after'], 'listings');
        // The guard inside the write step uses the backend's own view, not the contract.
        atMost(0, 'stat', () => true, WRITE, 'stats through the contract during the write');
        assert.equal(log.count('write', c.path), 1);

        if (backend === 'git') {
          // Every look-up through the contract reads the branch tip: a ref read. Before the write:
          // target, parent, the parent's properties (CalDAV's hook) and the UID index's catch-up
          // (calendars). A path is walked once per tree (TreeEditor remembers it by tree id).
          const lookups = { webdav: 2, 'caldav-plain': 3, calendar: 4 }[c.kind];
          atMost(lookups, 'git:ref', () => true, BEFORE, 'ref reads before the write');
          atMost(1, 'git:walk', c.path, BEFORE, 'tree walks to the target before the write');
          // A properties read walks to the folder (already walked by the stat) and to its sidecar.
          const sidecar = (p: string) => p === parent || p === `${parent}/.davprops`;
          atMost({ webdav: 1, 'caldav-plain': 2, calendar: 2 }[c.kind], 'git:walk', sidecar, BEFORE, 'tree walks to the parent before the write');
          // Inside write(): the parent check before the blob takes the tip the early check read; the
          // atomic step reads the branch tip once, and the compare-and-swap reads it again under its
          // lock. The guard and the apply look at the tip's tree: paths the early check walked in the
          // same tree, and the written entry as it was just put, are not walked again.
          // With the write journal the write step reads the tip once to catch the live state up (no
          // commit, no compare-and-swap: the burst commits later, after the window).
          atMost(2, 'git:ref', () => true, WRITE, 'ref reads in the write');
          atMost(1, 'git:commit', () => true, WRITE, 'commit reads in the write');
          atMost(0, 'git:walk', c.path, WRITE, 'tree walks to the target in the write');
          atMost(0, 'git:walk', sidecar, WRITE, 'tree walks to the parent in the write');
          // …but the guard and the apply still look (answered from what was walked in that state).
          assert.ok(log.count('git:memo', c.path, WRITE) >= 2, `the write step looks at the target\n${summary}`);
          assert.ok(log.count('git:memo', parent, WRITE) >= 1, `the write step looks at the parent\n${summary}`);
        }
      });
    }

    it('the write step still checks the live state: a change between the early check and the write fails If-Match (412)', async () => {
      const root = await mkdtemp(join(tmpdir(), 'gitdav-steps-'));
      try {
        const inner = await openBackend(backend, root);
        let race: string | undefined;
        // Another writer lands between the PUT's early check (which passes on the looked-up target)
        // and the backend's write step.
        const racing = (b: Backend) =>
          new Proxy(b, {
            get(target, prop) {
              const value = Reflect.get(target, prop, target) as unknown;
              if (typeof value !== 'function') return value;
              if (prop !== 'write') return (value as (...a: unknown[]) => unknown).bind(target);
              return async (path: string, body: Readable, options: WriteOptions) => {
                if (race) {
                  const text = race;
                  race = undefined;
                  await target.write(path, Readable.from([Buffer.from(text)]));
                }
                return target.write(path, body, options);
              };
            },
          });
        await withServer(inner, false, racing, async (url) => {
          const first = await raw(url, '/f.txt', { method: 'PUT', body: 'one' });
          assert.equal(first.status, 201);
          race = 'theirs';
          const r = await raw(url, '/f.txt', { method: 'PUT', body: 'mine', headers: { 'If-Match': first.headers.etag as string } });
          assert.equal(r.status, 412, r.text);
          assert.equal((await raw(url, '/f.txt')).text, 'theirs');
        });
      } finally {
        await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      }
    });
  });
}
