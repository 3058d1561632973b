/**
 * The kept members of a calendar (lib/caldav/state/calendar-members.ts) on a real git repository,
 * with a write landing between the token and the read of the members (as another worker's PUT or a
 * native push can): after it is undone (A-B-A), the kept set must still be the calendar as it is.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Backend, Entry } from '../../backends/backend.js';
import { openGitRepository } from '../../backends/git/repository.js';
import { EMPTY, type ObjectBounds } from '../../lib/caldav/ical/bounds.js';
import { CalendarMembers, membersMeeting } from '../../lib/caldav/state/calendar-members.js';
import { loadList, memberFile } from '../../lib/caldav/state/member-file.js';
import { ObjectIndex } from '../../lib/caldav/state/object-index.js';

type Repo = Awaited<ReturnType<typeof openGitRepository>>;

describe('CalendarMembers (git)', () => {
  let root: string;
  let repo: Repo;
  let hook: (() => Promise<unknown>) | null = null;
  let wrapped: Backend;

  const put = (p: string, s: string) => repo.write(p, Readable.from([Buffer.from(s)]), { length: Buffer.byteLength(s) });
  const listNow = async () => {
    const out: Record<string, string> = {};
    for await (const e of repo.list('/cal')) out[e.path] = e.etag;
    return out;
  };
  const kept = (files: Map<string, Entry>) => Object.fromEntries([...files].map(([p, e]) => [p, e.etag]));
  /** Runs the pending write once, at the first read after the token (list or changes). */
  const fire = async () => {
    const h = hook;
    hook = null;
    if (h) await h();
  };

  beforeEach(async () => {
    root = join(await mkdtemp(join(tmpdir(), 'gitdav-members-')), 'data');
    repo = await openGitRepository({ root, burstWindowMs: 0 });
    await repo.mkcol('/cal');
    await put('/cal/a.ics', 'A');
    wrapped = new Proxy(repo, {
      get(t, k) {
        if (k === 'list') return async function* (p: string) { await fire(); yield* t.list(p); };
        if (k === 'changes') return async (p: string, since?: string, limit?: number) => { await fire(); return t.changes(p, since, limit); };
        const v = (t as unknown as Record<string | symbol, unknown>)[k];
        return typeof v === 'function' ? v.bind(t) : v;
      },
    }) as unknown as Backend;
  });
  afterEach(async () => {
    await repo.close();
    await rm(join(root, '..'), { recursive: true, force: true });
  });

  it('a member created after the token and deleted again is not kept', async () => {
    const m = new CalendarMembers();
    hook = () => put('/cal/x.ics', 'X');
    await m.current(wrapped, '/cal', 'k');
    await repo.remove('/cal/x.ics');
    const s = await m.current(wrapped, '/cal', 'k');
    assert.deepEqual(kept(s!.files), await listNow());
  });

  it('a member changed after the token and changed back is kept with its own ETag', async () => {
    const m = new CalendarMembers();
    hook = () => put('/cal/a.ics', 'A2');
    await m.current(wrapped, '/cal', 'k');
    await put('/cal/a.ics', 'A');
    await put('/cal/b.ics', 'B');
    const s = await m.current(wrapped, '/cal', 'k');
    assert.deepEqual(kept(s!.files), await listNow());
  });

  describe('saved lists', () => {
    let stateDir: string;
    const saved = (path: string) => ({ saved: { file: memberFile(stateDir, 'u', path), user: 'u' } });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    beforeEach(async () => (stateDir = await mkdtemp(join(tmpdir(), 'gitdav-members-state-'))));
    afterEach(() => rm(stateDir, { recursive: true, force: true }));

    it('remembers the saved tokens of at most maxSavedTokens calendars', async () => {
      const m = new CalendarMembers(undefined, { saveDelayMs: 0, maxSavedTokens: 3 });
      for (let i = 0; i < 6; i++) {
        await repo.mkcol(`/c${i}`);
        await put(`/c${i}/a.ics`, `A${i}`);
        await m.current(repo, `/c${i}`, `k${i}`, saved(`/c${i}`));
      }
      await m.close();
      assert.equal(m.savedTokenCount, 3);
      for (let i = 0; i < 6; i++) assert.equal((await loadList(memberFile(stateDir, 'u', `/c${i}`), 'u', `/c${i}`))?.members.length, 1, `/c${i} saved`);
    });

    it('schedules and writes nothing after close(), and never makes a removed state dir again', async () => {
      const m = new CalendarMembers(undefined, { saveDelayMs: 5 });
      await m.current(repo, '/cal', 'k', saved('/cal'));
      await m.close(); // flushes the pending save
      const file = memberFile(stateDir, 'u', '/cal');
      const before = (await loadList(file, 'u', '/cal'))!.token;
      await put('/cal/b.ics', 'B'); // a query still in flight after close sees a change
      await m.current(repo, '/cal', 'k', saved('/cal'));
      await repo.mkcol('/other');
      await m.current(repo, '/other', 'o', saved('/other'));
      await sleep(100); // 20 save delays
      assert.equal((await loadList(file, 'u', '/cal'))!.token, before, 'not saved again');
      assert.deepEqual(await readdir(join(stateDir, 'caldav-members')), [file.split('/').pop()], 'no new list');
      // And a save due when the state dir was removed (a tenant's) does not make it again.
      const m2 = new CalendarMembers(undefined, { saveDelayMs: 60_000 });
      await m2.current(repo, '/cal', 'k', saved('/cal'));
      await rm(stateDir, { recursive: true });
      await m2.close(); // writes the save due
      await assert.rejects(stat(stateDir), { code: 'ENOENT' });
    });
  });
});

describe('membersMeeting: when the interval index is rebuilt', () => {
  const b = (lo: number, hi: number): ObjectBounds => ({ uid: 'u', type: 'VEVENT', span: { lo, hi }, alarms: EMPTY });
  const entry = (name: string): Entry => ({ path: `/cal/${name}`, kind: 'file', size: 1, etag: `"${name}"`, modified: new Date(0) });
  const paths = (es: Entry[]) => es.map((e) => e.path).sort();
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-meeting-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('a member whose bounds were unknown is placed by them once known, even when the object index is full (its size unchanged)', async () => {
    const index = new ObjectIndex(join(dir, 'caldav-index.json'), 2);
    await index.ready();
    index.set('"other"', b(0, 10));
    index.set('"a"', b(0, 10));
    const set = { token: 't', files: new Map([entry('a'), entry('b')].map((e) => [e.path, e])) };
    assert.deepEqual(paths(membersMeeting(set, index, 100, 200)), ['/cal/b'], 'b unknown: checked in full');
    index.set('"b"', b(0, 10)); // evicts "other": the index's size stays 2
    assert.equal(index.size, 2);
    assert.deepEqual(paths(membersMeeting(set, index, 100, 200)), [], 'b known now, and outside the range');
  });

  it('a member that never gets bounds causes no rebuild when the object index learns of others', async () => {
    const index = new ObjectIndex(join(dir, 'caldav-index.json'));
    await index.ready();
    index.set('"a"', b(0, 10));
    const set = { token: 't', files: new Map([entry('a'), entry('broken')].map((e) => [e.path, e])) };
    membersMeeting(set, index, 0, 5);
    const built = (set as { intervals?: unknown }).intervals;
    for (let i = 0; i < 5; i++) {
      index.set(`"elsewhere-${i}"`, b(0, 1));
      assert.deepEqual(paths(membersMeeting(set, index, 0, 5)), ['/cal/a', '/cal/broken']);
    }
    assert.equal((set as { intervals?: unknown }).intervals, built, 'the same index, not rebuilt');
  });
});
