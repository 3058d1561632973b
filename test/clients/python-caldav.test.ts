/**
 * python3-caldav (Debian, 0.11) as a library: discovery from the root URL, MKCALENDAR, PUTs, listing,
 * calendar-query with time ranges (RRULE expansion included), fetch by URL and UID, update, delete.
 * The session itself is test/clients/caldav_flow.py; it prints one JSON object with a result per
 * step, and each `it` below asserts on one step, so a failure names what the client saw.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { basic, raw, startTestServer, type BackendName, type TestServer } from '../helpers/server.js';
import type { GitWriteOptions } from '../../lib/tenants.js';
import { requireTool, tool } from '../helpers/tools.js';
import { DEFAULT_BURST_RULES } from '../../backends/git/journal/burst.js';

const PYTHON = '/usr/bin/python3';
const CALDAV_MODULE = '/usr/lib/python3/dist-packages/caldav/__init__.py';
// The script is not compiled: from dist/test/clients/ back to the source tree.
const SCRIPT = fileURLToPath(new URL('../../../test/clients/caldav_flow.py', import.meta.url));

interface Step {
  ok: boolean;
  error?: string;
  trace?: string;
  [detail: string]: unknown;
}
interface FlowOutput {
  ok: boolean;
  steps: Record<string, Step>;
}

/** Runs one of the Python sessions: its JSON and exit, or an error with everything it printed. */
async function runFlow(script: string, args: string[]): Promise<{ out: FlowOutput; code: number; stderr: string }> {
  const run = await tool(PYTHON, [script, ...args], { timeout: 75_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  try {
    return { out: JSON.parse(run.stdout) as FlowOutput, code: run.code, stderr: run.stderr };
  } catch {
    throw new Error(`${script} printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

/** A step's details, failing with the client's own error when the step failed. */
function stepIn(out: FlowOutput, name: string): Step {
  const step = out.steps[name];
  assert.ok(step, `step ${name} did not run`);
  assert.ok(step.ok, `${name}: ${step.error}\n${step.trace ?? ''}\n${JSON.stringify(step, null, 1)}`);
  return step;
}

/**
 * The backends each session runs on. The git backend three times: at burstWindowMs 0 (a commit per
 * write, before the answer: the client reads committed trees and the path index); at the default
 * window (writes answered from the journal, commits 2 s after a pause, mid-session or not, as the
 * machine's speed has it: reads from uncommitted records and across commits); and with a window no
 * session reaches (nothing committed until the server closes: every read, query and sync token of
 * the session comes from the journal's records, which the last `it` checks).
 */
const NEVER = { burstWindowMs: 600_000, burstMaxAgeMs: 600_000 };
const VARIANTS: { label: string; backend: BackendName; git?: GitWriteOptions }[] = [
  { label: 'fs', backend: 'fs' },
  { label: 'git, a commit per write', backend: 'git', git: { burstWindowMs: 0 } },
  { label: 'git, the default burst window', backend: 'git', git: { burstWindowMs: DEFAULT_BURST_RULES.windowMs, burstMaxAgeMs: DEFAULT_BURST_RULES.maxAgeMs } },
  { label: 'git, nothing committed during the session', backend: 'git', git: NEVER },
];

for (const { label, backend, git } of VARIANTS) {
  describe(`real client: python3-caldav (${label})`, function () {
    this.timeout(90_000);
    let s: TestServer;
    let out: FlowOutput;
    let exit: { code: number; stderr: string };
    let agentsAfter: string[] | null = null;

    before(async function () {
      requireTool(this, PYTHON, 'python3');
      requireTool(this, CALDAV_MODULE, 'python3-caldav');
      s = await startTestServer({ backend, caldav: true, git });
      ({ out, ...exit } = await runFlow(SCRIPT, [s.url + '/']));
      // Each commit's writers' User-Agents: the server's setup says `gitdav setup`, the session's python's.
      if (git === NEVER) agentsAfter = (await tool('git', ['--git-dir', s.root, 'log', '--all', '--format=[%(trailers:key=User-Agent,valueonly,separator=;)]'])).stdout.split('\n').filter(Boolean);
    });
    after(async () => {
      await s?.close();
    });

    const stepOf = (name: string) => stepIn(out, name);

    it('discovers the principal /principals/user/ and the home /calendars/user/ from the root URL', () => {
      const d = stepOf('discovery');
      assert.equal(d.principal, `${s.url}/principals/user/`);
      assert.equal(d.home, `${s.url}/calendars/user/`);
    });

    it('lists the default calendar (and not the home) with calendars()', () => {
      const d = stepOf('calendars');
      assert.deepEqual(d.calendars, ['/calendars/user/calendar/']);
    });

    it('make_calendar() creates a named calendar that calendars() then lists', () => {
      const d = stepOf('make_calendar');
      assert.equal(d.url, '/calendars/user/pyflow/');
      assert.equal(d.displayname, 'Python Flow');
      assert.deepEqual(d.listed, ['/calendars/user/calendar/', '/calendars/user/pyflow/']);
    });

    it('save_event() stores five events (one weekly, one with a TZID, one all-day) that GET returns', () => {
      const d = stepOf('save_event');
      assert.deepEqual(Object.keys(d.urls as object).sort(), ['pyflow-alpha', 'pyflow-beta', 'pyflow-delta', 'pyflow-gamma', 'pyflow-weekly']);
    });

    it('lists them with sync-collection (objects_by_sync_token)', () => {
      const d = stepOf('list_by_sync_token');
      assert.match(String(d.sync_token), /^[a-z][a-z0-9+.-]*:/i, 'the sync token is a URI');
    });

    it('lists them with events() (calendar-query, comp-filter VEVENT)', () => {
      stepOf('events');
    });

    it('date_search() (calendar-query time-range + expand) hits exactly the events, and instances, in range', () => {
      // Ranges and expectations are in caldav_flow.py (RANGES): a weekly event whose DTSTART is out of
      // range but one instance is in; the exclusive end; a TZID event; an all-day event.
      stepOf('date_search');
    });

    it('the server expands recurring events itself (python-caldav needed no client-side expansion)', () => {
      const d = stepOf('date_search');
      assert.equal(d.client_side_expansions, 0, 'the server answered <C:expand> with RRULEs still in place');
    });

    it('event_by_uid() finds an event (calendar-query prop-filter UID text-match)', () => {
      stepOf('event_by_uid');
    });

    it('event_by_url() loads an event; an update is saved in place', () => {
      const d = stepOf('event_by_url_and_update');
      assert.equal(d.summary, 'Alpha edited');
    });

    it('delete() removes the event: no longer loadable nor listed', () => {
      stepOf('delete_event');
    });

    it('date_search() no longer finds the deleted event', () => {
      stepOf('date_search_after_delete');
    });

    it('deleting the calendar removes it from calendars(); the default calendar stays', () => {
      const d = stepOf('delete_calendar');
      assert.deepEqual(d.listed, ['/calendars/user/calendar/']);
    });

    it('the script exits 0 exactly when every step passed', () => {
      assert.equal(exit.code, out.ok ? 0 : 1, exit.stderr);
    });

    if (git === NEVER) {
      it("the whole session was served from the journal: none of its writes was committed before the server closed (only the server's setup, closed by the session's first write)", () => {
        assert.ok(agentsAfter, 'the history was read');
        assert.deepEqual([...new Set(agentsAfter)], agentsAfter.length ? ['[gitdav setup]'] : []);
      });
    }
  });
}

// Bob, with python3-caldav, in a calendar Alice shared with him read-write (test/clients/caldav_share_flow.py).
const SHARE_SCRIPT = fileURLToPath(new URL('../../../test/clients/caldav_share_flow.py', import.meta.url));
const TEAM_MEETING = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', 'UID:team-meeting', 'DTSTAMP:20260101T000000Z', 'DTSTART:20261201T100000Z', 'DURATION:PT1H', 'SUMMARY:Team meeting', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

for (const { label, backend, git } of VARIANTS) {
  describe(`real client: python3-caldav in a read-write shared calendar (${label})`, function () {
    this.timeout(90_000);
    let s: TestServer;
    let out: FlowOutput;
    const ALICE = basic('alice', 'alice-secret');

    before(async function () {
      requireTool(this, PYTHON, 'python3');
      requireTool(this, CALDAV_MODULE, 'python3-caldav');
      const shares = [{ owner: 'alice', path: '/calendars/alice/calendar', grantee: 'bob', access: 'write' as const }];
      s = await startTestServer({ backend, git, users: { alice: 'alice-secret', bob: 'bob-secret!' }, shares });
      assert.equal((await raw(s.url, '/calendars/alice/calendar/meeting.ics', { method: 'PUT', body: TEAM_MEETING, headers: { ...ALICE, 'Content-Type': 'text/calendar' } })).status, 201);
      ({ out } = await runFlow(SHARE_SCRIPT, [s.url + '/', 'bob', 'bob-secret!']));
    });
    after(async () => {
      await s?.close();
    });

    const stepOf = (name: string) => stepIn(out, name);

    it('Bob discovers his principal and finds Alice’s calendar among his own', () => {
      const d = stepOf('discovery');
      assert.equal(d.principal, `${s.url}/principals/bob/`);
      assert.deepEqual(d.calendars, [`${s.url}/calendars/bob/alice~calendar/`, `${s.url}/calendars/bob/calendar/`]);
    });

    it('saves an event into it, finds both users’ events by date, and edits his', async () => {
      assert.match(String(stepOf('save').url), /\/calendars\/bob\/alice~calendar\//);
      assert.deepEqual(stepOf('date_search').summaries, ['Lunch (added by Bob)', 'Team meeting']);
      assert.equal(stepOf('edit').summary, 'Long lunch (edited by Bob)');
      const mine = await raw(s.url, '/calendars/alice/calendar/', { method: 'PROPFIND', headers: { ...ALICE, Depth: '1' } });
      const href = /<D:href>(\/calendars\/alice\/calendar\/[^<]+\.ics)<\/D:href>/g;
      const bodies = await Promise.all([...mine.text.matchAll(href)].map(async (m) => (await raw(s.url, m[1]!, { headers: ALICE })).text));
      assert.ok(bodies.some((b) => b.includes('Long lunch (edited by Bob)')), 'Alice has Bob’s edited event in her calendar');
    });

    it('is refused an event with the UID of Alice’s', () => {
      assert.equal(stepOf('uid_clash').refused, true);
    });
  });
}

