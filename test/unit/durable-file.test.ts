/**
 * backends/util/durable-file.ts: a write leaves the old content or the new one, never a part, and never a
 * temp file behind when it fails, in both durabilities; 'fsync' fsyncs the file and its directory,
 * 'atomic' neither; a create-only write refuses an existing file; a removal is durable.
 * Failures are injected by replacing fs.promises functions (and FileHandle.prototype.sync) for one call.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTempName, removeFileDurably, syncDirectory, writeFileDurably, type Durability } from '../../backends/util/durable-file.js';

const FSYNC = { durability: 'fsync' } as const;
const DURABILITIES: Durability[] = ['fsync', 'atomic'];

type Patchable = Record<string, unknown>;

/** Replaces `target[key]` with a function that fails with `code`, until the returned restore is called. */
function failing(target: object, key: string, code: string): () => void {
  const t = target as Patchable;
  const original = t[key];
  t[key] = async () => {
    throw Object.assign(new Error(`injected ${code}`), { code });
  };
  return () => {
    t[key] = original;
  };
}

async function fileHandlePrototype(dir: string): Promise<object> {
  const h = await fsp.open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(h) as object;
  await h.close();
  await fsp.rm(join(dir, 'probe'));
  return proto;
}

/** Runs `body` counting FileHandle#sync calls (each still fsyncs). */
async function countingSyncs(dir: string, body: () => Promise<void>): Promise<number> {
  const proto = (await fileHandlePrototype(dir)) as Patchable;
  const original = proto.sync as (this: unknown) => Promise<void>;
  let calls = 0;
  proto.sync = async function (this: unknown) {
    calls++;
    return original.call(this);
  };
  try {
    await body();
  } finally {
    proto.sync = original;
  }
  return calls;
}

describe('durable-file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-durable-'));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('writes a new file, replaces it whole, and makes a missing directory', async () => {
    const file = join(dir, 'a', 'b', 'state.json');
    await writeFileDurably(file, 'one', FSYNC);
    assert.equal(await fsp.readFile(file, 'utf8'), 'one');
    await writeFileDurably(file, Buffer.from('two'), FSYNC);
    assert.equal(await fsp.readFile(file, 'utf8'), 'two');
    assert.deepEqual(await fsp.readdir(join(dir, 'a', 'b')), ['state.json']);
  });

  it("'fsync' fsyncs the file and then its directory; 'atomic' fsyncs nothing; both replace the content whole", async () => {
    const file = join(dir, 'state.json');
    assert.equal(await countingSyncs(dir, () => writeFileDurably(file, 'durable', { durability: 'fsync' })), 2);
    assert.equal(await fsp.readFile(file, 'utf8'), 'durable');
    assert.equal(await countingSyncs(dir, () => writeFileDurably(file, 'cache', { durability: 'atomic' })), 0);
    assert.equal(await fsp.readFile(file, 'utf8'), 'cache');
    assert.equal(await countingSyncs(dir, () => writeFileDurably(join(dir, 'new', 'sub', 'f'), 'x', { durability: 'atomic' })), 0, 'a directory made for an atomic write is not fsynced either');
    assert.equal(await fsp.readFile(join(dir, 'new', 'sub', 'f'), 'utf8'), 'x');
    assert.deepEqual((await fsp.readdir(dir)).sort(), ['new', 'state.json']);
  });

  for (const durability of DURABILITIES) {
    for (const [what, target, key] of [
      ['the fsync of the data', 'handle', 'sync'],
      ['the write of the data', 'handle', 'writeFile'],
      ['the rename', 'fsp', 'rename'],
    ] as const) {
      if (durability === 'atomic' && key === 'sync') continue; // an atomic write makes no fsync to fail
      it(`${durability}: when ${what} fails, the old content stays and leaves no temp file`, async () => {
        const file = join(dir, 'state.json');
        await writeFileDurably(file, 'old', { durability });
        const restore = failing(target === 'fsp' ? fsp : await fileHandlePrototype(dir), key, 'EIO');
        try {
          await assert.rejects(writeFileDurably(file, 'new', { durability }), /injected EIO/);
        } finally {
          restore();
        }
        assert.equal(await fsp.readFile(file, 'utf8'), 'old');
        assert.deepEqual(await fsp.readdir(dir), ['state.json'], 'no temp file left behind');
      });
    }
  }

  it('tempFile: the temp file is made where the caller says (not beside the target), and none is left', async () => {
    const aside = join(dir, 'aside');
    const shown = join(dir, 'shown');
    await fsp.mkdir(aside);
    await fsp.mkdir(shown);
    const file = join(shown, '.davprops');
    for (const durability of DURABILITIES) {
      let seen: string[] = [];
      const rename = fsp.rename;
      (fsp as Patchable).rename = async (from: string, to: string) => {
        seen = [...(await fsp.readdir(shown)), ...(await fsp.readdir(aside)).map((n) => `aside/${n}`)];
        return rename(from, to);
      };
      try {
        await writeFileDurably(file, durability, { durability, tempFile: join(aside, `t-${durability}`) });
      } finally {
        (fsp as Patchable).rename = rename;
      }
      assert.deepEqual(seen.filter((n) => n !== '.davprops'), [`aside/t-${durability}`], 'while writing, the temp file is in the folder given');
      assert.equal(await fsp.readFile(file, 'utf8'), durability);
    }
    assert.deepEqual(await fsp.readdir(shown), ['.davprops']);
    assert.deepEqual(await fsp.readdir(aside), []);
    // A failed write leaves neither the temp file nor a change; the target's directory is never made.
    await assert.rejects(writeFileDurably(join(dir, 'gone', 'f'), 'x', { durability: 'fsync', tempFile: join(aside, 't') }), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
    assert.deepEqual(await fsp.readdir(aside), []);
    assert.deepEqual((await fsp.readdir(dir)).sort(), ['aside', 'shown']);
  });

  it('a failing directory fsync is reported (the new content is in place, no temp file)', async () => {
    const file = join(dir, 'state.json');
    const proto = await fileHandlePrototype(dir);
    const original = (proto as Patchable).sync as (this: unknown) => Promise<void>;
    let calls = 0;
    (proto as Patchable).sync = async function (this: unknown) {
      if (++calls === 2) throw Object.assign(new Error('injected EIO'), { code: 'EIO' }); // the directory's
      return original.call(this);
    };
    try {
      await assert.rejects(writeFileDurably(file, 'new', FSYNC), /injected EIO/);
    } finally {
      (proto as Patchable).sync = original;
    }
    assert.equal(calls, 2, 'the file and then its directory were fsynced');
    assert.deepEqual(await fsp.readdir(dir), ['state.json']);
  });

  for (const durability of DURABILITIES) it(`${durability}: a reader racing 40 rewrites only ever sees a whole old or new content`, async () => {
    const file = join(dir, 'state.json');
    const a = 'a'.repeat(256 * 1024);
    const b = 'b'.repeat(300 * 1024);
    await writeFileDurably(file, a, { durability });
    let writing = true;
    const seen = new Set<string>();
    const reader = (async () => {
      let reads = 0;
      while (writing || reads < 10) {
        const text = await fsp.readFile(file, 'utf8');
        assert.ok(text === a || text === b, `a read saw ${text.length} bytes, a partial write`);
        seen.add(text[0]!);
        reads++;
      }
    })();
    for (let i = 0; i < 40; i++) await writeFileDurably(file, i % 2 ? a : b, { durability });
    writing = false;
    await reader;
    assert.ok(seen.size >= 1);
    assert.deepEqual((await fsp.readdir(dir)).filter(isTempName), []);
  });

  it('replace: false creates a file only if absent (EEXIST otherwise, the first content kept), with its mode', async () => {
    const file = join(dir, 'key');
    await writeFileDurably(file, 'first', { durability: 'fsync', replace: false, mode: 0o600 });
    await assert.rejects(writeFileDurably(file, 'second', { durability: 'fsync', replace: false }), (err: NodeJS.ErrnoException) => err.code === 'EEXIST');
    assert.equal(await fsp.readFile(file, 'utf8'), 'first');
    assert.equal((await fsp.stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(await fsp.readdir(dir), ['key'], 'no temp file left behind');
  });

  it('makeDir: false does not make a missing directory', async () => {
    await assert.rejects(writeFileDurably(join(dir, 'missing', 'f'), 'x', { durability: 'fsync', makeDir: false }), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
    assert.deepEqual(await fsp.readdir(dir), []);
  });

  it('removeFileDurably removes a file (true), a missing one is false, and a failing unlink throws and keeps the file', async () => {
    const file = join(dir, 'f');
    await writeFileDurably(file, 'x', FSYNC);
    const restore = failing(fsp, 'unlink', 'EIO');
    try {
      await assert.rejects(removeFileDurably(file), /injected EIO/);
    } finally {
      restore();
    }
    assert.equal(await fsp.readFile(file, 'utf8'), 'x');
    assert.equal(await removeFileDurably(file), true);
    assert.equal(await removeFileDurably(file), false);
    assert.deepEqual(await fsp.readdir(dir), []);
  });

  it('syncDirectory fsyncs an existing directory and reports a missing one', async () => {
    await syncDirectory(dir);
    await assert.rejects(syncDirectory(join(dir, 'missing')), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
  });
});
