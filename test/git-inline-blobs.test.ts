/**
 * Small blobs carried in their journal records (docs/git-backend.md, "Writing"): a PUT of up to 64 KiB
 * writes its loose object without an fsync and puts the object's bytes in its record, whose one
 * fdatasync makes the write durable. Before a commit names such a blob the committer makes it durable:
 * fsynced, or written again from the record when the file is gone or damaged (what a power cut can do
 * to page-cache writes). Tested in process and with real server processes killed with SIGKILL.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { GitBackend } from '../backends/git/index.js';
import { INLINE_BLOB_MAX } from '../backends/git/blob-write.js';
import { decodeHeader, decodeRecords, HEADER_BYTES } from '../backends/git/journal/format.js';
import type { JournalRecord } from '../backends/git/journal/record.js';
import { body, journalRepos } from './helpers/journal-backends.js';
import { killCliProcesses, runCli } from './helpers/cli.js';
import { tool } from './helpers/tools.js';

const git = (dir: string, ...args: string[]) => tool('git', ['--git-dir', dir, ...args]);
const write = (b: GitBackend, path: string, content: Buffer) => b.write(path, body(content.toString('latin1')), { length: content.length });
const blobId = (content: Buffer) => createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
const loosePath = (root: string, oid: string) => join(root, 'objects', oid.slice(0, 2), oid.slice(2));

/** Every record in the repository's journal file, inline objects kept. */
async function journalRecords(root: string): Promise<JournalRecord[]> {
  const bytes = await readFile(join(root, 'gitdav', 'journal', 'journal.log'));
  const header = decodeHeader(bytes.subarray(0, HEADER_BYTES));
  assert.ok(header, 'the journal has a header');
  return decodeRecords(bytes.subarray(HEADER_BYTES), header.firstSeq, true).records;
}

/** A body of `size` bytes unique to `seed` (so its blob is new to the repository). */
function content(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0, i = 0; at < size; i++) at += out.write(createHash('sha1').update(`${seed}:${i}`).digest('hex'), at);
  return out;
}

async function assertFsckClean(root: string): Promise<void> {
  const r = await git(root, 'fsck', '--strict', '--no-dangling');
  assert.equal(r.code, 0, `git fsck: ${r.stdout}${r.stderr}`);
}

describe('git: small blobs carried in their journal records', function () {
  this.timeout(120_000);
  const { open, removeAll } = journalRepos('gitdav-inline-');
  after(removeAll);

  it('a small PUT carries its object in its record; a bigger one is fsynced on its own and does not', async () => {
    const { root, b } = await open();
    const small = content('small', 1000);
    const edge = content('edge', INLINE_BLOB_MAX);
    const big = content('big', INLINE_BLOB_MAX + 1);
    await write(b, '/small.txt', small);
    await write(b, '/edge.txt', edge);
    await write(b, '/big.txt', big);
    const records = await journalRecords(root);
    const inlineOf = (path: string) => records.find((r) => r.meta.path === path)?.inline;
    for (const [path, bytes] of [['/small.txt', small], ['/edge.txt', edge]] as const) {
      const inline = inlineOf(path);
      assert.equal(inline?.length, 1, `${path}: one inline object`);
      assert.equal(inline[0]!.oid, blobId(bytes));
      // The loose file's exact bytes: what the committer can write back.
      const raw = inflateSync(Buffer.from(inline[0]!.z, 'base64'));
      assert.deepEqual(raw, Buffer.concat([Buffer.from(`blob ${bytes.length}\0`), bytes]));
      assert.deepEqual(await readFile(loosePath(root, blobId(bytes))), Buffer.from(inline[0]!.z, 'base64'));
    }
    assert.equal(inlineOf('/big.txt'), undefined, 'a body over the limit is not carried');
    // Readers hold records without their bodies (the view's records come from a decode or the writer).
    const view = await b.live.current(true);
    assert.ok(view.records.length >= 3 && view.records.every((r) => r.inline === undefined), 'no inline bodies held in the live view');
    await b.close();
  });

  it('a blob whose loose file was lost or damaged before the commit is written again from the journal', async () => {
    const { root, b } = await open();
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 6; i++) files.set(`/f${i}.txt`, content(`lost-${i}`, 200 + 500 * i));
    for (const [path, bytes] of files) await write(b, path, bytes);
    // What a power cut may leave of page-cache writes: a file cut to nothing, a file gone, a torn one.
    const ids = [...files.values()].map(blobId);
    await truncate(loosePath(root, ids[0]!), 0);
    await unlink(loosePath(root, ids[1]!));
    await truncate(loosePath(root, ids[2]!), 20);
    await b.commitJournal();
    await assertFsckClean(root);
    for (const [path, bytes] of files) {
      const shown = await git(root, 'cat-file', 'blob', `main:${path.slice(1)}`);
      assert.equal(shown.stdout, bytes.toString('latin1'), `${path} committed whole`);
    }
    await b.close();
  });

  it('survives SIGKILL inside a burst plus lost page-cache writes: every acknowledged small PUT is committed whole', async function () {
    const root = await mkdtemp(join(tmpdir(), 'gitdav-inline-kill-'));
    try {
      // A long window: nothing is committed before the kill; the journal alone holds the writes.
      const first = runCli(['serve', '--root', root, '--port', '0', '--no-caldav', '--log-level', 'silent', '--burst-window-ms', '600000']);
      const url = await first.url;
      const files = new Map<string, Buffer>();
      for (let i = 0; i < 20; i++) {
        const bytes = content(`kill-${i}`, 100 + 997 * i);
        const res = await fetch(`${url}/k${i}.txt`, { method: 'PUT', body: new Uint8Array(bytes) });
        assert.equal(res.status, 201);
        files.set(`k${i}.txt`, bytes);
      }
      first.child.kill('SIGKILL');
      await first.exit;
      assert.equal((await git(root, 'rev-parse', '--verify', '-q', 'main:k0.txt')).code, 1, 'nothing committed before the kill');
      const ids = [...files.values()].map(blobId);
      for (const oid of ids.slice(0, 5)) await unlink(loosePath(root, oid));
      for (const oid of ids.slice(5, 10)) await truncate(loosePath(root, oid), 0);
      // The next server commits the journal a crash left at open, before it serves.
      const second = runCli(['serve', '--root', root, '--port', '0', '--no-caldav', '--log-level', 'silent', '--burst-window-ms', '0']);
      const url2 = await second.url;
      for (const [name, bytes] of files) {
        const got = Buffer.from(await (await fetch(`${url2}/${name}`)).arrayBuffer());
        assert.deepEqual(got, bytes, `${name} served whole`);
        assert.equal((await git(root, 'rev-parse', `main:${name}`)).stdout.trim(), blobId(bytes), `${name} committed`);
      }
      await assertFsckClean(root);
      second.child.kill('SIGTERM');
      await second.exit;
    } finally {
      killCliProcesses();
      await rm(root, { recursive: true, force: true });
    }
  });
});
