/**
 * Small packed blobs read whole (ObjectStore.readBlob → PackReader.readSmall: one positioned read,
 * inflated in memory, deltas applied, no stream) against native git: random blobs, deltas and
 * chains of deltas read the same whole as streamed and as `git cat-file` prints them; a server keeps
 * serving while `git gc` and `git repack -ad` replace its packs; a corrupt packed object is an error,
 * never other bytes.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import fc from 'fast-check';
import { ObjectStore } from '../backends/git/objects.js';
import { WholeBody, wholeContent } from '../backends/util/whole-body.js';
import { raw, startTestServer } from './helpers/server.js';
import { tool } from './helpers/tools.js';

const ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };

async function collect(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A repository in `work` with one commit of `files`, packed by `git repack -adf` (deep chains). */
async function packedRepo(work: string, files: Map<string, Buffer>): Promise<(...args: string[]) => Promise<string>> {
  const git = async (...args: string[]) => {
    const r = await tool('git', args, { cwd: work, env: ENV });
    assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await tool('git', ['init', '-q', '-b', 'main', work]);
  for (const [name, content] of files) await writeFile(join(work, name), content);
  await git('add', '.');
  await git('commit', '-qm', 'files');
  await git('repack', '-a', '-d', '-f', '-q', '--depth=50', '--window=50');
  await git('prune-packed');
  return git;
}

/** Blob ids with their pack entries (`git verify-pack -v`): offset, size in pack, delta depth. */
async function packEntries(work: string, git: (...a: string[]) => Promise<string>) {
  const dir = join(work, '.git', 'objects', 'pack');
  const idx = (await readdir(dir)).filter((n) => n.endsWith('.idx'));
  assert.equal(idx.length, 1);
  const out = new Map<string, { offset: number; inPack: number; depth: number; pack: string }>();
  for (const line of (await git('verify-pack', '-v', join(dir, idx[0]!))).split('\n')) {
    const m = /^([0-9a-f]{40}) blob +\d+ (\d+) (\d+)(?: (\d+))?/.exec(line);
    if (m) out.set(m[1]!, { inPack: Number(m[2]), offset: Number(m[3]), depth: Number(m[4] ?? 0), pack: join(dir, idx[0]!.replace(/\.idx$/, '.pack')) });
  }
  return out;
}

describe('git packs: small blobs read whole', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-small-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads packed deltas and chains of deltas whole, as git prints them and as the stream reads them', async () => {
    const work = join(dir, 'w');
    // Versions of one calendar-sized text, each a few lines off the last: git deltifies them in chains.
    const files = new Map<string, Buffer>();
    let text = Array.from({ length: 40 }, (_, i) => `DESCRIPTION:line ${i} of an event\r\n`).join('');
    for (let v = 0; v < 60; v++) {
      text = text.replace(`line ${v % 40} `, `line ${v % 40} v${v} `);
      files.set(`e${v}.ics`, Buffer.from(text));
    }
    const git = await packedRepo(work, files);
    const entries = await packEntries(work, git);
    assert.ok([...entries.values()].some((e) => e.depth >= 3), 'chains of deltas three deep or more');
    const store = new ObjectStore(join(work, '.git'));
    await store.packs.refresh(); // as after a server's first read: the packs are known, so blobs are read whole
    for (const [name, content] of files) {
      const oid = (await git('rev-parse', `main:${name}`)).trim();
      assert.ok(entries.has(oid));
      const body = await store.readBlob(oid);
      assert.ok(body instanceof WholeBody, `${name} is read whole`);
      assert.deepEqual(wholeContent(body), content, name);
      assert.deepEqual(await collect(await store.readBlob(oid)), content, name);
      assert.deepEqual(await collect(await store.readBlob(oid, { start: 5, end: 17 })), content.subarray(5, 18), `${name} range`);
      assert.equal(store.knownBlobSize(oid), content.length, 'the size learnt on the way');
      const streamed = await store.packs.stream(oid);
      assert.deepEqual(await collect(streamed!.body), content);
    }
    await store.packs.close();
  });

  it('property: a small blob read whole equals the streamed read and git for random blobs', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 3000 }),
            fc.string({ maxLength: 2000 }).map((s) => new TextEncoder().encode(s.repeat(3))),
            fc.integer({ min: 60_000, max: 70_000 }).map((n) => new TextEncoder().encode('x'.repeat(n))), // across SMALL_OBJECT
          ),
          { minLength: 1, maxLength: 25 },
        ),
        fc.string({ minLength: 1, maxLength: 200 }),
        async (blobs, base) => {
          const work = join(dir, `p${run++}`);
          // Each random blob, and a similar copy of a shared text with it inside: deltas between them.
          const files = new Map<string, Buffer>();
          blobs.forEach((b, i) => {
            files.set(`r${i}`, Buffer.from(b));
            files.set(`d${i}`, Buffer.concat([Buffer.from(base.repeat(20)), Buffer.from(b.subarray(0, 100)), Buffer.from(String(i))]));
          });
          const git = await packedRepo(work, files);
          const store = new ObjectStore(join(work, '.git'));
    await store.packs.refresh(); // as after a server's first read: the packs are known, so blobs are read whole
          for (const [name, content] of files) {
            const oid = (await git('rev-parse', `main:${name}`)).trim();
            const whole = await collect(await store.readBlob(oid));
            const streamed = await store.packs.stream(oid);
            assert.deepEqual(whole, content, name);
            assert.deepEqual(await collect(streamed!.body), content, `${name} streamed`);
          }
          await store.packs.close();
        },
      ),
      { numRuns: 6 },
    );
  });

  for (const [label, spoil] of [
    ['a byte of its deflated data (the checksum)', (e: { offset: number; inPack: number }, b: Buffer) => ({ at: e.offset + e.inPack - 1, byte: b[0]! ^ 0x40 })],
    ['the size in its header, one less', (e: { offset: number }, b: Buffer) => ({ at: e.offset, byte: (b[0]! & 0xf0) | ((b[0]! & 0x0f) - 1) })],
    ['the size in its header, one more', (e: { offset: number }, b: Buffer) => ({ at: e.offset, byte: (b[0]! & 0xf0) | ((b[0]! & 0x0f) + 1) })],
  ] as const) {
    it(`a packed blob with ${label} spoiled is an error, never other bytes (whole object and delta)`, async () => {
      const work = join(dir, 'c');
      const files = new Map<string, Buffer>();
      // Sizes whose header's low four bits are neither 0 nor 15, so ±1 stays in that nibble.
      const text = Array.from({ length: 30 }, (_, i) => `SUMMARY:event ${i}\r\n`).join('') + 'END:'.padEnd(7 + 16 * 3, '-');
      for (let v = 0; v < 8; v++) files.set(`e${v}.ics`, Buffer.from(text.replace(`event ${v * 3}`, `event ${v * 3}!`)));
      const git = await packedRepo(work, files);
      const entries = await packEntries(work, git);
      const picks: string[] = [];
      for (const depth of [0, 1]) {
        for (const [name, content] of files) {
          if ((content.length & 15) === 0 || (content.length & 15) === 15) continue;
          const oid = (await git('rev-parse', `main:${name}`)).trim();
          const e = entries.get(oid)!;
          if ((depth === 0) !== (e.depth === 0) || picks.includes(oid)) continue;
          if (depth === 1 && !label.includes('deflated')) continue; // a delta's header size is the delta's, checked the same way
          picks.push(oid);
          break;
        }
      }
      assert.ok(picks.length >= 1);
      for (const oid of picks) {
        const e = entries.get(oid)!;
        const fh = await open(e.pack, 'r+');
        const one = Buffer.alloc(1);
        const at = label.includes('deflated') ? e.offset + e.inPack - 1 : e.offset;
        await fh.read(one, 0, 1, at);
        const { byte } = spoil(e, one);
        await fh.write(Buffer.from([byte]), 0, 1, at);
        await fh.close();
        const store = new ObjectStore(join(work, '.git'));
    await store.packs.refresh(); // as after a server's first read: the packs are known, so blobs are read whole
        await assert.rejects(
          store.readBlob(oid).then(collect),
          (err: Error & { code?: string }) => /corrupt|cannot be read|inflat|header|incorrect|invalid/i.test(`${err.code} ${err.message}`),
          `reading ${oid} after spoiling ${label}`,
        );
        await store.packs.close();
        // Put it back for the next pick.
        const fix = await open(e.pack, 'r+');
        await fix.write(one, 0, 1, at);
        await fix.close();
      }
    });
  }

  it('a packed blob whose header says far less than its data holds is an error, not a cut-off body', async () => {
    // 5,000 random bytes deflate to more than 2,100 + 1 KiB, so the in-memory read sees a cut-off
    // stream and the streaming reader must check where the stream ends (it used to stop at 2,100).
    const work = join(dir, 'h'); // its own repository: the pack is left spoiled
    const content = randomBytes(5000);
    const git = await packedRepo(work, new Map([['r.bin', content]]));
    const oid = (await git('rev-parse', 'main:r.bin')).trim();
    const e = (await packEntries(work, git)).get(oid)!;
    const fh = await open(e.pack, 'r+');
    const head = Buffer.alloc(3);
    await fh.read(head, 0, 3, e.offset);
    assert.deepEqual([head[0]! & 0x80, head[1]! & 0x80, head[2]! & 0x80], [0x80, 0x80, 0], 'a 3-byte header');
    const claim = 2100; // the same 3-byte header length as 5,000
    await fh.write(Buffer.from([(head[0]! & 0xf0) | (claim & 15), 0x80 | ((claim >> 4) & 0x7f), claim >> 11]), 0, 3, e.offset);
    await fh.close();
    const store = new ObjectStore(join(work, '.git'));
    await store.packs.refresh(); // as after a server's first read: the packs are known, so blobs are read whole
    await assert.rejects(store.readBlob(oid).then(collect), /its header says 2100|cannot be read/);
    await store.packs.close();
  });

  it('a delta whose base is itself (distance 0) is an error, not a loop', async () => {
    const work = join(dir, 'l');
    const files = new Map<string, Buffer>();
    const text = Array.from({ length: 30 }, (_, i) => `SUMMARY:event ${i}\r\n`).join('');
    for (let v = 0; v < 6; v++) files.set(`e${v}.ics`, Buffer.from(text.replace(`event ${v * 3}`, `event ${v * 3}!`)));
    const git = await packedRepo(work, files);
    const entries = await packEntries(work, git);
    const [oid, e] = [...entries].find(([, x]) => x.depth > 0)!;
    const fh = await open(e.pack, 'r+');
    const head = Buffer.alloc(16);
    await fh.read(head, 0, 16, e.offset);
    assert.equal((head[0]! >> 4) & 7, 6, 'an OFS_DELTA (git repack writes offsets)');
    let pos = 0;
    while (head[pos++]! & 0x80);
    await fh.write(Buffer.from([0]), 0, 1, e.offset + pos); // the distance's first byte: 0, and no more bytes
    await fh.close();
    const store = new ObjectStore(join(work, '.git'));
    await store.packs.refresh(); // as after a server's first read: the packs are known, so blobs are read whole
    await assert.rejects(store.readBlob(oid).then(collect), /bad distance|cannot be read/);
    await store.packs.close();
  });

  it('serves small blobs while `git gc` and `git repack -ad` replace the packs under it', async () => {
    const work = join(dir, 's');
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 120; i++) files.set(`f${i}.ics`, Buffer.from(`BEGIN:VEVENT\r\nUID:${i}\r\n${'DESCRIPTION:some text\r\n'.repeat(1 + (i % 30))}END:VEVENT\r\n`));
    const git = await packedRepo(work, files);
    const s = await startTestServer({ root: join(work, '.git'), backend: 'git' });
    try {
      const check = async (which: Map<string, Buffer>) => {
        for (const [name, content] of which) {
          const r = await raw(s.url, `/${name}`);
          assert.equal(r.status, 200, name);
          assert.equal(createHash('sha1').update(r.body).digest('hex'), createHash('sha1').update(content).digest('hex'), name);
        }
      };
      await check(files);
      // New versions committed natively (loose), then packed by gc and by repack while reads go on.
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 120; i += 7) files.set(`f${i}.ics`, Buffer.concat([files.get(`f${i}.ics`)!, Buffer.from(`X-ROUND:${round}\r\n`)]));
        for (const [name, content] of files) await writeFile(join(work, name), content);
        await git('add', '.');
        await git('commit', '-qm', `round ${round}`);
        await check(files);
        const reads = check(files);
        await git(...(round % 2 === 0 ? ['gc', '-q', '--prune=now'] : ['repack', '-a', '-d', '-q']));
        await reads;
        await check(files);
      }
      await git('repack', '-a', '-d', '-f', '-q', '--depth=50', '--window=50');
      await check(files);
    } finally {
      await s.close();
    }
  });
});
