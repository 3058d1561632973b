/**
 * backends/util/checksum-table.ts: SHA-1/MD5 records keyed by content identity (a strong ETag), in an
 * append-only log shared by processes, parsed strictly (a torn or corrupt line is skipped, never
 * trusted), compacted past its bound; and ../../lib/dav/owncloud.ts's header parsers.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ChecksumTable, contentKey, eachLine, recordKey, formatRecord, parseRecord, type ContentHashes } from '../../backends/util/checksum-table.js';
import { parseOcChecksum, parseOcMtime, storedMtime, MTIME_PROP } from '../../lib/dav/owncloud.js';

const hashesOf = (n: number): ContentHashes => ({ sha1: n.toString(16).padStart(40, '0'), md5: n.toString(16).padStart(32, '0') });

describe('checksum table', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-cks-'))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('a record made by one instance is found by another (another process) on its next miss', async () => {
    const file = join(dir, 'checksums.log');
    const a = new ChecksumTable(file);
    const b = new ChecksumTable(file);
    assert.equal(await b.get('x1'), undefined);
    await a.record('x1', hashesOf(1));
    assert.deepEqual(await b.get('x1'), hashesOf(1));
    await a.record('x2', hashesOf(2));
    assert.deepEqual(await b.get('x2'), hashesOf(2));
  });

  it('only strong ETags are keys', async () => {
    assert.equal(contentKey('W/"abc"'), null);
    assert.equal(contentKey('"a b"'), null);
    assert.equal(contentKey('"a"b"'), null);
    assert.equal(contentKey('"1-2-3"'), '1-2-3');
    // A backend's contentKey wins over the ETag (the folder backend's names the ctime too).
    assert.equal(recordKey({ etag: '"1-2-3"' }), '1-2-3');
    assert.equal(recordKey({ etag: '"1-2-3"', contentKey: 'fs-1-2-3-4-5' }), 'fs-1-2-3-4-5');
    assert.equal(recordKey({ etag: '"1-2-3"', contentKey: 'a b' }), null);
    const t = new ChecksumTable(join(dir, 'checksums.log'));
    await t.record('a b', hashesOf(1));
    assert.equal(await t.get('a b'), undefined);
  });

  it('skips corrupt and torn lines, waits for a line without its newline, and never trusts a glued line', async () => {
    const file = join(dir, 'checksums.log');
    const good = formatRecord('k1', hashesOf(1));
    const later = formatRecord('k2', hashesOf(2));
    // garbage, a line whose check does not match, a prefix of a record (torn) glued to a whole one
    const forged = formatRecord('k3', hashesOf(3)).replace(hashesOf(3).md5, hashesOf(4).md5);
    await writeFile(file, `garbage\n${forged}${good}${later.slice(0, 20)}`);
    const t = new ChecksumTable(file);
    assert.equal(await t.get('k3'), undefined);
    assert.deepEqual(await t.get('k1'), hashesOf(1));
    assert.equal(await t.get('k2'), undefined); // incomplete: not read yet
    await appendFile(file, later); // the torn prefix glued to a whole record: neither is trusted
    assert.equal(await t.get('k2'), undefined);
    await appendFile(file, later);
    assert.deepEqual(await t.get('k2'), hashesOf(2));
  });

  it('compacts past its bound to the newest half; other instances re-read the new file', async () => {
    const file = join(dir, 'checksums.log');
    const a = new ChecksumTable(file, 2000);
    const b = new ChecksumTable(file, 2000);
    for (let i = 0; i < 40; i++) {
      await a.record(`e${i}`, hashesOf(i));
      await a.settled(); // compaction runs in the background: a PUT does not wait for it
    }
    assert.ok((await stat(file)).size <= 2000, 'bounded');
    const lines = (await readFile(file, 'latin1')).split('\n').filter(Boolean);
    assert.ok(lines.every((l) => parseRecord(l)), 'every line is a record');
    assert.deepEqual(await b.get('e39'), hashesOf(39));
    assert.equal(await b.get('e0'), undefined);
  });

  it('a long log is read in slices: the event loop turns while it is parsed, and every record is found', async () => {
    const file = join(dir, 'checksums.log');
    const n = 10_000;
    let text = '';
    for (let i = 0; i < n; i++) text += formatRecord(`k${i}`, hashesOf(i));
    await writeFile(file, text);
    const t = new ChecksumTable(file);
    assert.deepEqual(await t.get(`k${n - 1}`), hashesOf(n - 1));
    assert.deepEqual(await t.get('k0'), hashesOf(0));
    // The parse itself lets the event loop turn: an immediate queued before it runs before its end.
    let turned = false;
    let seenAtEnd = false;
    setImmediate(() => (turned = true));
    let lines = 0;
    await eachLine(text, () => {
      if (++lines === n) seenAtEnd = turned;
    });
    assert.equal(lines, n);
    assert.ok(seenAtEnd, 'the event loop turned during the parse');
  });

  it('a record that crosses the bound returns before the compaction has run', async () => {
    const file = join(dir, 'checksums.log');
    const a = new ChecksumTable(file, 2000);
    let i = 0;
    while ((await stat(file).catch(() => ({ size: 0 }))).size <= 2000) await a.record(`c${i++}`, hashesOf(i));
    // The record that crossed it returned while its compaction was still running.
    assert.ok(a['compacting'], 'record() did not wait for the compaction');
    await a.settled();
    assert.ok((await stat(file)).size <= 2000, 'compacted in the background');
  });

  it('parseRecord accepts exactly what formatRecord writes (property)', () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
    fc.assert(
      fc.property(fc.stringMatching(/^[\x21-\x7e]{1,128}$/), hex(40), hex(32), (key, sha1, md5) => {
        const line = formatRecord(key, { sha1, md5 });
        assert.deepEqual(parseRecord(line.slice(0, -1)), { key, hashes: { sha1, md5 } });
        // Any shorter prefix, or one character changed, is refused.
        const cut = Math.floor(line.length / 2);
        assert.equal(parseRecord(line.slice(0, cut)), null);
      }),
    );
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
      const r = parseRecord(s);
      if (r) assert.equal(formatRecord(r.key, r.hashes), s + '\n');
    }));
  });
});

describe('ownCloud headers', () => {
  it('X-OC-Mtime: unix seconds up to 2^32-1, fractions dropped; anything else is a 400', () => {
    assert.equal(parseOcMtime(undefined), undefined);
    assert.equal(parseOcMtime('1577934245')!.getTime(), 1577934245000);
    assert.equal(parseOcMtime('1577934245.75')!.getTime(), 1577934245000);
    for (const bad of ['', 'yesterday', '-5', '1e9', '12345678901234']) assert.throws(() => parseOcMtime(bad), /X-OC-Mtime/);
    assert.equal(parseOcMtime('4294967295')!.getTime(), 4294967295000);
    assert.throws(() => parseOcMtime('999999999999'), /out of range/); // a file system would clamp it
  });

  it('OC-Checksum: SHA1 and MD5 checked, other types ignored, malformed ones a 400', () => {
    const sha1 = 'a'.repeat(40);
    assert.deepEqual(parseOcChecksum(`SHA1:${sha1.toUpperCase()}`), { alg: 'sha1', hex: sha1 });
    assert.deepEqual(parseOcChecksum(`md5:${'b'.repeat(32)}`), { alg: 'md5', hex: 'b'.repeat(32) });
    assert.equal(parseOcChecksum('ADLER32:0a1b2c3d'), undefined);
    for (const bad of ['SHA1', 'SHA1:xyz', `SHA1:${'a'.repeat(39)}`, 'SHA1: a']) assert.throws(() => parseOcChecksum(bad), /OC-Checksum/);
  });

  it('a stored time counts only for the content it was set for', () => {
    const props = new Map([[MTIME_PROP, `<x:mtime xmlns:x="urn:x-gitdav:">"abc" 1577934245</x:mtime>`]]);
    assert.equal(storedMtime(props, '"abc"')!.getTime(), 1577934245000);
    assert.equal(storedMtime(props, '"abd"'), undefined);
    assert.equal(storedMtime(new Map([[MTIME_PROP, '<x:mtime xmlns:x="urn:x-gitdav:">garbage</x:mtime>']]), '"abc"'), undefined);
  });
});
