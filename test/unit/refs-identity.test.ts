/**
 * The ref cache (backends/git/refs.ts FileIdentityCache) on a file system with whole-second
 * timestamps, driven by a fake stat and clock: git and compareAndSwap rename `<ref>.lock` over the
 * ref, so inodes alternate between two numbers, a ref is always 41 bytes, and within one second the
 * stored times do not change. A stat can then repeat for a different version; the cache must not
 * have kept the first one.
 */
import assert from 'node:assert/strict';
import type { BigIntStats } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileIdentityCache, isSettled, SETTLED_COARSE_MS, SETTLED_MS } from '../../backends/git/refs.js';

/** A file whose stat the test decides: the text is real, the identity is what a file system would show. */
class FakeFs {
  nowMs = 1_700_000_000_000;
  private version = 0;
  private ino = 15n;
  private stampNs = 0n;
  constructor(
    readonly path: string,
    private readonly resolutionNs: bigint,
  ) {}

  /** Writes a new version the way git does (a new file renamed over: the other inode), stamped now. */
  async write(text: string): Promise<void> {
    this.version++;
    this.ino = this.ino === 15n ? 16n : 15n;
    const ns = BigInt(this.nowMs) * 1_000_000n;
    this.stampNs = ns - (ns % this.resolutionNs);
    await writeFile(this.path, text);
  }

  readonly source = {
    now: () => this.nowMs,
    stat: (path: string): BigIntStats | undefined => {
      assert.equal(path, this.path);
      if (!this.version) return undefined;
      return { dev: 1n, ino: this.ino, size: 41n, mtimeNs: this.stampNs, ctimeNs: this.stampNs } as BigIntStats;
    },
  };
}

describe('ref cache by file identity', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-refs-id-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const ref = (n: number) => `${String(n).repeat(40).slice(0, 40)}\n`;

  it('whole-second timestamps: three versions in one second never serve the first one', async () => {
    const fs = new FakeFs(join(dir, 'main'), 1_000_000_000n);
    const cache = new FileIdentityCache(fs.source);
    const second = fs.nowMs - (fs.nowMs % 1000);
    fs.nowMs = second + 50;
    await fs.write(ref(1)); // stored as second.000, inode 16
    fs.nowMs = second + 150; // older than SETTLED_MS by its stored time, but not by its real one
    assert.equal(await cache.read(fs.path), ref(1));
    fs.nowMs = second + 400;
    await fs.write(ref(2)); // inode 15
    fs.nowMs = second + 500;
    await fs.write(ref(3)); // inode 16 again: the same stat as version 1
    fs.nowMs = second + 600;
    assert.equal(await cache.read(fs.path), ref(3), 'version 3, not a remembered version 1');
    // Once the tick is over, later versions have later times: it may be remembered, and still is right.
    fs.nowMs = second + 600 + SETTLED_COARSE_MS + 1000;
    assert.equal(await cache.read(fs.path), ref(3));
    await fs.write(ref(4));
    await fs.write(ref(5));
    fs.nowMs += 10;
    assert.equal(await cache.read(fs.path), ref(5));
  });

  it('two-second timestamps (FAT): not remembered until the two seconds are over', async () => {
    const fs = new FakeFs(join(dir, 'main'), 2_000_000_000n);
    const cache = new FileIdentityCache(fs.source);
    const tick = fs.nowMs - (fs.nowMs % 2000);
    fs.nowMs = tick + 100;
    await fs.write(ref(1));
    fs.nowMs = tick + 1500; // 1.5 s after the stored time, still inside the tick
    assert.equal(await cache.read(fs.path), ref(1));
    fs.nowMs = tick + 1600;
    await fs.write(ref(2));
    await fs.write(ref(3));
    fs.nowMs = tick + 1900;
    assert.equal(await cache.read(fs.path), ref(3));
  });

  it('nanosecond timestamps: a settled file is remembered (one stat, no read)', async () => {
    const fs = new FakeFs(join(dir, 'main'), 1n);
    const cache = new FileIdentityCache(fs.source);
    fs.nowMs += 7; // a stamp with a sub-second part
    await fs.write(ref(1));
    fs.nowMs += SETTLED_MS + 1;
    assert.equal(await cache.read(fs.path), ref(1));
    // The text changes under an unchanged stat (what no real writer can do): the remembered text shows.
    await writeFile(fs.path, ref(9));
    assert.equal(await cache.read(fs.path), ref(1), 'served by the identity alone');
  });

  it('isSettled: the window follows the resolution of the stored times', () => {
    const at = (ns: bigint) => ({ mtimeNs: ns, ctimeNs: ns });
    const whole = 1_700_000_000n * 1_000_000_000n;
    const nowMs = (ns: bigint, plus: number) => Number(ns / 1_000_000n) + plus;
    assert.equal(isSettled(at(whole), nowMs(whole, SETTLED_MS + 1)), false, 'whole seconds: 100 ms is not enough');
    assert.equal(isSettled(at(whole), nowMs(whole, SETTLED_COARSE_MS + 1)), true);
    assert.equal(isSettled(at(whole + 123n), nowMs(whole, SETTLED_MS + 1)), true, 'sub-second times: 100 ms is');
    assert.equal(isSettled({ mtimeNs: whole, ctimeNs: whole + 5_000_000_000n }, nowMs(whole, SETTLED_COARSE_MS + 1)), false, 'the later of the two counts');
  });
});
