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
import { FsBackend } from '../../backends/fs/index.js';
import { GitBackend } from '../../backends/git/index.js';
import { createApp, listen, type RunningServer } from '../../lib/server.js';
import { countingBackend, probeGit, StepLog, type Phase } from '../helpers/counting-backend.js';
import { ics } from '../helpers/fixtures.js';
import { raw, type BackendName } from '../helpers/server.js';

const CAL = '/calendars/user/calendar';
const event = (uid: string, summary: string) => ics('BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', 'DTSTART:20260105T090000Z', 'DURATION:PT1H', `SUMMARY:${summary}`, 'END:VEVENT');
const calendarPut = (body: string) => ({ method: 'PUT', body, headers: { 'Content-Type': 'text/calendar' } });

interface Case {
  name: string;
  caldav: boolean;
  /** Requests before the counted one (warm-up included: a first PUT builds caches). */
  setup: Array<[string, { method: string; body?: string; headers?: Record<string, string> }]>;
  path: string;
  request: { method: string; body: string; headers?: Record<string, string> };
  status: number;
}

const CASES: Case[] = [
  {
    name: 'a plain PUT of a new file (WebDAV only)',
    caldav: false,
    setup: [['/docs', { method: 'MKCOL' }], ['/docs/warm.txt', { method: 'PUT', body: 'w' }]],
    path: '/docs/new.txt',
    request: { method: 'PUT', body: 'hello' },
    status: 201,
  },
  {
    name: 'a plain PUT replacing a file (WebDAV only)',
    caldav: false,
    setup: [['/docs', { method: 'MKCOL' }], ['/docs/old.txt', { method: 'PUT', body: 'w' }]],
    path: '/docs/old.txt',
    request: { method: 'PUT', body: 'hello' },
    status: 204,
  },
  {
    name: 'a plain PUT of a new file (CalDAV installed)',
    caldav: true,
    setup: [['/docs', { method: 'MKCOL' }], ['/docs/warm.txt', { method: 'PUT', body: 'w' }]],
    path: '/docs/new.txt',
    request: { method: 'PUT', body: 'hello' },
    status: 201,
  },
  {
    name: 'a plain PUT replacing a file (CalDAV installed)',
    caldav: true,
    setup: [['/docs', { method: 'MKCOL' }], ['/docs/old.txt', { method: 'PUT', body: 'w' }]],
    path: '/docs/old.txt',
    request: { method: 'PUT', body: 'hello' },
    status: 204,
  },
  {
    name: 'a PUT of a new calendar object',
    caldav: true,
    setup: [[`${CAL}/warm.ics`, calendarPut(event('warm', 'Warm-up'))]],
    path: `${CAL}/new.ics`,
    request: calendarPut(event('new', 'Dentist')),
    status: 201,
  },
  {
    name: 'a PUT replacing a calendar object',
    caldav: true,
    setup: [[`${CAL}/warm.ics`, calendarPut(event('warm', 'Warm-up'))], [`${CAL}/old.ics`, calendarPut(event('old', 'Dentist'))]],
    path: `${CAL}/old.ics`,
    request: calendarPut(event('old', 'Dentist, moved')),
    status: 204,
  },
];

async function counted(backendName: BackendName, c: Case): Promise<StepLog> {
  const root = await mkdtemp(join(tmpdir(), 'gitdav-steps-'));
  const log = new StepLog();
  const inner = backendName === 'git' ? await GitBackend.open({ root }) : await FsBackend.open({ root });
  const app = await createApp({ backend: countingBackend(inner, log), caldav: c.caldav ? {} : false });
  let running: RunningServer | undefined;
  const stopProbe = backendName === 'git' ? probeGit(log) : () => undefined;
  try {
    running = await listen(app, '127.0.0.1', 0);
    for (const [path, req] of c.setup) assert.ok((await raw(running.url, path, req)).status < 300, `setup ${req.method} ${path}`);
    log.reset();
    const r = await raw(running.url, c.path, c.request);
    assert.equal(r.status, c.status, r.text);
    return log;
  } finally {
    stopProbe();
    await running?.close(1000);
    await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

const BEFORE_WRITE: Phase[] = ['before'];

for (const backend of ['fs', 'git'] as BackendName[]) {
  describe(`PUT looks things up once (${backend} backend)`, function () {
    this.timeout(30_000);
    for (const c of CASES) {
      it(c.name, async () => {
        const log = await counted(backend, c);
        if (process.env.GITDAV_PRINT_STEPS) console.log(`${backend} | ${c.name}\n${JSON.stringify(log.summary(c.path), null, 1)}`);
        void BEFORE_WRITE;
      });
    }
  });
}
