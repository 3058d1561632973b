/**
 * The write journal's file (backends/git/journal/journal.ts) on disk: appends under the journal lock,
 * readers that follow appends and rotations, torn and corrupt tails that are never returned and are
 * cut by the next append, and real second processes (children that share nothing but the files):
 * concurrent appenders, and one killed while it holds the lock. Bounded by counts; no timing.
 */
import assert from 'node:assert/strict';
import { promises as fsp, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FRAME_BYTES, HEADER_BYTES, crc32, encodeRecords } from '../backends/git/journal/format.js';
import { Journal } from '../backends/git/journal/journal.js';
import type { JournalEntry, JournalRecord } from '../backends/git/journal/record.js';
import fc from 'fast-check';
import { dist, runChild, type ChildScript } from './helpers/child-script.js';

import { entry, paths } from './helpers/journal-entries.js';
const append = (j: Journal, ...ps: string[]) => j.transact(async () => ({ entries: ps.map((p) => entry(p)), result: undefined }));

/** A child with a Journal on `stateDir`: `append N TAG` appends N records one transact each and prints their seqs. */
function appender(stateDir: string): ChildScript {
  return runChild(`
const { Journal } = await import(${dist('backends/git/journal/journal.js')});
const j = await Journal.open(${JSON.stringify(stateDir)});
out('READY');
commands(async (line) => {
  const [cmd, n, tag] = line.split(' ');
  if (cmd !== 'append') return;
  const seqs = [];
  for (let i = 0; i < Number(n); i++) {
    const path = '/' + tag + '/' + i;
    const { records } = await j.transact(async () => ({
      entries: [{ time: Date.now(), user: tag, meta: { op: 'PUT', path }, effects: [{ path, slot: { kind: 'file', mode: '100644', oid: 'c'.repeat(40) } }] }],
      result: null,
    }));
    seqs.push(records[0].seq);
  }
  out('SEQS ' + JSON.stringify(seqs));
});
`);
}

describe('the journal file', function () {
  this.timeout(120_000);
  let stateDir: string;
  const open: Journal[] = [];
  const children: ChildScript[] = [];
  const track = (j: Journal) => (open.push(j), j);
  const journal = async () => track(await Journal.open(stateDir));
  beforeEach(async () => {
    stateDir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-journal-'));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await c.kill();
    for (const j of open.splice(0)) await j.close();
    await fsp.rm(stateDir, { recursive: true, force: true });
  });

  it('is created with its header; the first read is a reset with nothing; appends are numbered from 1', async () => {
    const a = await journal();
    assert.equal((await fsp.stat(a.file)).size, HEADER_BYTES);
    assert.deepEqual(await a.read(), { records: [], reset: true, nextSeq: 1 });
    const { records } = await append(a, '/x', '/y');
    assert.deepEqual(records.map((r) => r.seq), [1, 2]);
    assert.deepEqual(await a.read(), { records: [], reset: false, nextSeq: 3 }, 'its own appends are not read again');
    assert.deepEqual(readdirSync(a.dir).sort(), ['journal.log'], 'no lock or temp file left');
  });

  it('a second instance reads what the first appends, and build is handed what it had not read', async () => {
    const a = await journal();
    const b = await journal();
    await append(a, '/1');
    const first = await b.read();
    assert.equal(first.reset, true);
    assert.deepEqual(paths(first.records), ['/1']);
    await append(a, '/2', '/3');
    const next = await b.read();
    assert.deepEqual([paths(next.records), next.reset, next.nextSeq], [['/2', '/3'], false, 4]);
    await append(a, '/4');
    const { records, result } = await b.transact(async (caughtUp) => ({ entries: [entry('/5')], result: caughtUp }));
    assert.deepEqual([paths(result.records), result.nextSeq], [['/4'], 5]);
    assert.equal(records[0]!.seq, 5);
    assert.deepEqual(paths((await a.read()).records), ['/5']);
  });

  it('a build that throws appends nothing and releases the lock', async () => {
    const a = await journal();
    await append(a, '/1');
    await assert.rejects(a.transact(async () => {
      throw new Error('guard failed');
    }), /guard failed/);
    await assert.rejects(a.transact(async () => ({ entries: [{ ...entry('/bad'), effects: [{ path: 'relative', slot: null }] }], result: 0 })), TypeError);
    const size = (await fsp.stat(a.file)).size;
    const { records } = await append(a, '/2');
    assert.equal(records[0]!.seq, 2);
    assert.ok((await fsp.stat(a.file)).size > size);
    assert.deepEqual(readdirSync(a.dir).sort(), ['journal.log']);
  });

  it('a corrupt last record is never returned, is cut by the next append, and what follows reads', async () => {
    const a = await journal();
    await append(a, '/1', '/2', '/3');
    const bytes = await fsp.readFile(a.file);
    bytes[bytes.length - 3] ^= 0x20; // inside record 3's JSON: its CRC no longer checks
    await fsp.writeFile(a.file, bytes);
    const b = await journal();
    assert.deepEqual(paths((await b.read()).records), ['/1', '/2']);
    assert.deepEqual(paths((await b.read()).records), [], 'the tail stays unread');
    const { records } = await append(b, '/3b', '/4');
    assert.deepEqual(records.map((r) => r.seq), [3, 4]);
        const all = (await (await journal()).read()).records;
    assert.deepEqual(paths(all), ['/1', '/2', '/3b', '/4']);
    assert.equal((await fsp.stat(a.file)).size, HEADER_BYTES + encodeRecords(all).length, 'the corrupt record was cut');
  });

  it('a half-written record is left for its writer: readers stop before it, and a later append completes the file', async () => {
    const a = await journal();
    const b = await journal();
    await append(a, '/1');
    await b.read();
    const whole = encodeRecords([{ ...entry('/2'), seq: 2 }]);
    await fsp.appendFile(a.file, whole.subarray(0, 11));
    assert.deepEqual((await b.read()).records, []);
    await fsp.appendFile(a.file, whole.subarray(11)); // the writer finished
    assert.deepEqual(paths((await b.read()).records), ['/2']);
  });

  it('a record whose CRC checks but whose JSON is not a record is never returned, and is cut', async () => {
    const junks = ['{"seq":2,"hello":"world"}', 'not json at all', '{"seq":2,"time":1,"meta":{"op":"PUT","path":"/x"},"effects":[{"path":"/x","slot":{"kind":"file","oid":"nothex"}}]}'];
    for (const [i, junk] of junks.entries()) {
      const dir = join(stateDir, String(i));
      const a = track(await Journal.open(dir));
      await append(a, '/1');
      const body = Buffer.from(junk);
      const head = Buffer.alloc(FRAME_BYTES);
      head.writeUInt32LE(body.length, 0);
      head.writeUInt32LE(crc32(body), 4);
      await fsp.appendFile(a.file, Buffer.concat([head, body]));
      const b = track(await Journal.open(dir));
      assert.deepEqual(paths((await b.read()).records), ['/1'], junk);
      assert.equal((await append(b, '/2')).records[0]!.seq, 2, junk);
      assert.deepEqual(paths((await track(await Journal.open(dir)).read()).records), ['/1', '/2'], junk);
    }
  });

  it('rotates when every record is committed (a small committed part alone is kept); readers see the new file as a reset; seqs go on', async () => {
    const a = await journal();
    const b = await journal();
    await append(a, '/1', '/2', '/3');
    await b.read();
    assert.equal(await a.rotate(1), false, 'one record of three committed: not worth a rewrite');
    assert.deepEqual(paths((await b.read()).records), [], 'nothing changed');
    assert.equal(await a.rotate(3), true);
    assert.equal((await fsp.stat(a.file)).size, HEADER_BYTES);
    assert.deepEqual(await b.read(), { records: [], reset: true, nextSeq: 4 });
    assert.equal((await append(a, '/4')).records[0]!.seq, 4);
    assert.deepEqual([paths((await b.read()).records), (await b.read()).reset], [['/4'], false]);
    assert.equal(await b.rotate(3), false, 'record 4 is not committed');
    assert.deepEqual(readdirSync(a.dir).sort(), ['journal.log'], 'no temp file left');
  });

  it('has an id: random for a fresh file, the same across rotations (both kinds) and for every reader', async () => {
    const a = await journal();
    const b = await journal();
    await a.read();
    const id = a.id;
    assert.match(id, /^[0-9a-f]{32}$/);
    await b.read();
    assert.equal(b.id, id);
    await append(a, '/1', '/2', '/3');
    assert.equal(await a.rotate(3), true, 'all committed: an empty file');
    await b.read();
    assert.equal(b.id, id, 'kept by an emptying rotation');
    await append(a, ...Array.from({ length: 40 }, (_, i) => `/k${i}`));
    assert.equal(await a.rotate(40), true, 'a committed prefix over half the file is dropped');
    await b.read();
    assert.equal(b.id, id, 'kept by a rotation that keeps records');
    await fsp.rm(a.file);
    const c = await journal();
    await c.read();
    assert.notEqual(c.id, id, 'a fresh file has a new id');
  });

  it('records a rotation caught up are kept for the next read', async () => {
    const a = await journal();
    const b = await journal();
    await append(a, '/1');
    assert.equal(await b.rotate(0), false);
    assert.deepEqual(paths((await b.read()).records), ['/1']);
  });

  it('rotate sets the seq of a fresh journal forward, never back', async () => {
    const a = await journal();
    assert.equal(await a.rotate(41), true);
    assert.equal((await a.read()).nextSeq, 42);
    assert.equal(await a.rotate(41), true, 'already there: nothing to do');
    assert.equal(await a.rotate(10), false, 'seqs never go back');
    assert.equal((await append(a, '/x')).records[0]!.seq, 42);
  });

  it('a journal file removed is made again (a reset), and one with a bad header is moved aside', async () => {
    const a = await journal();
    await append(a, '/1');
    await fsp.rm(a.file);
    const b = await journal();
    assert.deepEqual(await b.read(), { records: [], reset: true, nextSeq: 1 });
    await fsp.writeFile(a.file, 'this is not a journal, and quite long enough to hold a header');
    const c = await journal();
    assert.deepEqual((await c.read()).records, []);
    assert.equal((await append(c, '/x')).records[0]!.seq, 1);
    assert.ok(readdirSync(c.dir).some((n) => n.startsWith('journal.log.corrupt-')), 'the bad file is kept for a person');
    assert.deepEqual(paths((await (await journal()).read()).records), ['/x']);
  });

  it('commit lock: withCommitLock runs sections one at a time; tryCommitLock gives up at once when held', async () => {
    const a = await journal();
    const b = await journal();
    let release!: () => void;
    const held = a.withCommitLock(() => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setImmediate(r));
    assert.equal(await b.tryCommitLock(async () => 1), null, 'held by another instance');
    assert.equal(await a.tryCommitLock(async () => 1), null, 'held in this process');
    release();
    await held;
    assert.deepEqual(await b.tryCommitLock(async () => 2), { value: 2 });
  });

  it('two processes appending 500 records each at once: seqs 1..1000, each once, every record readable', async () => {
    await (await journal()).read();
    const p = children[children.push(appender(stateDir)) - 1]!;
    const q = children[children.push(appender(stateDir)) - 1]!;
    await p.next(/^READY/);
    await q.next(/^READY/);
    p.send('append 500 p');
    q.send('append 500 q');
    const seqs = [p, q].map(async (c) => JSON.parse((await c.next(/^SEQS /, 110_000)).slice(5)) as number[]);
    const [ps, qs] = await Promise.all(seqs);
    const all = [...ps!, ...qs!].sort((x, y) => x - y);
    assert.deepEqual(all, Array.from({ length: 1000 }, (_, i) => i + 1));
    const { records } = await (await journal()).read();
    assert.deepEqual(records.map((r) => r.seq), all);
    for (const r of records) assert.equal(r.user, (ps!.includes(r.seq) ? 'p' : 'q'), `record ${r.seq}`);
  });

  it('a process killed holding the journal lock mid-append: another takes the lock over, cuts the torn tail, appends', async () => {
    const a = await journal();
    await append(a, '/1');
    const torn = encodeRecords([{ ...entry('/dying'), seq: 2 }]).subarray(0, 20);
    const holder = runChild(`
const { appendFileSync } = await import('node:fs');
const { Journal } = await import(${dist('backends/git/journal/journal.js')});
const j = await Journal.open(${JSON.stringify(stateDir)});
await j.transact(async () => {
  appendFileSync(${JSON.stringify(a.file)}, Buffer.from(${JSON.stringify(torn.toString('base64'))}, 'base64'));
  out('HELD');
  await new Promise(() => undefined);
});
`);
    children.push(holder);
    await holder.next(/^HELD/);
    await holder.kill('SIGKILL');
    assert.deepEqual(paths((await a.read()).records), []);
    assert.equal((await append(a, '/2')).records[0]!.seq, 2);
    assert.deepEqual(paths((await (await journal()).read()).records), ['/1', '/2']);
    assert.deepEqual(readdirSync(a.dir).sort(), ['journal.log']);
  });

  it('commit lock held by a live process: tryCommitLock is null; once that process is killed, it is taken over', async () => {
    const a = await journal();
    const holder = runChild(`
const { Journal } = await import(${dist('backends/git/journal/journal.js')});
const j = await Journal.open(${JSON.stringify(stateDir)});
await j.withCommitLock(async () => {
  out('HELD');
  await new Promise(() => undefined);
});
`);
    children.push(holder);
    await holder.next(/^HELD/);
    assert.equal(await a.tryCommitLock(async () => 1), null);
    await holder.kill('SIGKILL');
    assert.deepEqual(await a.tryCommitLock(async () => 2), { value: 2 });
    assert.deepEqual(await a.withCommitLock(async () => 3), 3);
  });

  it('any interleaving of appends, reads, rotations and torn tails by two instances: each sees every record once, in order (fast-check)', async () => {
    type Op = { who: 0 | 1; kind: 'append'; n: number } | { who: 0 | 1; kind: 'read' | 'rotate' | 'rotateBehind' | 'tear' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ who: fc.constantFrom(0 as const, 1 as const), kind: fc.constant('append' as const), n: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ who: fc.constantFrom(0 as const, 1 as const), kind: fc.constantFrom('read' as const, 'rotate' as const, 'rotateBehind' as const, 'tear' as const) }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 14 }), async (ops) => {
        const dir = join(stateDir, `p${run++}`);
        const js = [track(await Journal.open(dir)), track(await Journal.open(dir))];
        /** What each instance's caller holds: the records of the current file it was handed, in order. */
        const held: JournalRecord[][] = [[], []];
        const take = (i: number, r: { records: JournalRecord[]; reset: boolean }) => {
          if (r.reset) held[i] = [];
          held[i]!.push(...r.records);
        };
        let tag = 0;
        for (const o of ops) {
          const j = js[o.who]!;
          if (o.kind === 'append') {
            const { records, result } = await j.transact(async (caughtUp) => ({ entries: Array.from({ length: o.n }, () => entry(`/r${tag++}`)), result: caughtUp }));
            take(o.who, result);
            take(o.who, { records, reset: false });
          } else if (o.kind === 'read') {
            take(o.who, await j.read());
          } else if (o.kind === 'rotate') {
            const caught = await j.read();
            take(o.who, caught);
            assert.equal(await j.rotate(caught.nextSeq - 1), true);
          } else if (o.kind === 'rotateBehind') {
            // A committer that has not committed the last record it holds: no rotation, nothing lost.
            const last = held[o.who]!.at(-1)?.seq;
            if (last !== undefined) await j.rotate(last - 1);
          } else {
            await fsp.appendFile(j.file, Buffer.from([9, 0, 0, 0, 1, 2])); // a torn frame: 9 bytes announced, 2 written
          }
        }
        const truth = (await track(await Journal.open(dir)).read()).records;
        for (const i of [0, 1]) {
          take(i, await js[i]!.read());
          assert.deepEqual(held[i]!.map((r) => r.seq), truth.map((r) => r.seq), `instance ${i}`);
          assert.deepEqual(paths(held[i]!), paths(truth), `instance ${i}`);
        }
        const seqs = truth.map((r) => r.seq);
        seqs.forEach((s, k) => k > 0 && assert.equal(s, seqs[k - 1]! + 1, 'contiguous'));
      }),
      { numRuns: 25 },
    );
  });
});
