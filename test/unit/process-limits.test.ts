/** The workers' heap limits: checked in the config file, passed on each worker's command line. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../lib/config.js';
import { spawnSync } from 'node:child_process';
import { DEFAULT_PROCESS_LIMITS, heapFlagsMissing, workerExecArgv, workerNodeOptions } from '../../lib/process-limits.js';

describe('process limits (limits.maxOldSpaceMB, limits.maxSemiSpaceMB)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gitdav-process-limits-'));
  const load = (limits: Record<string, unknown>) => {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ limits }));
    return loadConfig(['--root', dir, '--config', file], {});
  };
  const refused = (limits: Record<string, unknown>, message: RegExp) =>
    assert.throws(() => load(limits), (err: unknown) => err instanceof ConfigError && message.test(err.message));

  it('takes 0 (Node\'s own) and values in range', () => {
    assert.deepEqual(load({ maxOldSpaceMB: 0, maxSemiSpaceMB: 0 }).limits, { maxOldSpaceMB: 0, maxSemiSpaceMB: 0 });
    assert.deepEqual(load({ maxOldSpaceMB: 64, maxSemiSpaceMB: 1 }).limits, { maxOldSpaceMB: 64, maxSemiSpaceMB: 1 });
    assert.deepEqual(load({ maxOldSpaceMB: 65_536, maxSemiSpaceMB: 128 }).limits, { maxOldSpaceMB: 65_536, maxSemiSpaceMB: 128 });
  });

  it('refuses a negative, fractional or non-number value', () => {
    for (const bad of [-1, 1.5, '256', null, true]) {
      refused({ maxOldSpaceMB: bad }, /^limit maxOldSpaceMB must be a non-negative integer$/);
      refused({ maxSemiSpaceMB: bad }, /^limit maxSemiSpaceMB must be a non-negative integer$/);
    }
  });

  it('refuses an old space too small to open a worker, and either beyond what V8 takes', () => {
    refused({ maxOldSpaceMB: 63 }, /maxOldSpaceMB must be 0 \(Node's own\) or at least 64/);
    refused({ maxOldSpaceMB: 65_537 }, /maxOldSpaceMB must be at most 65536/);
    refused({ maxSemiSpaceMB: 129 }, /maxSemiSpaceMB must be at most 128/);
  });

  it('refuses a misspelt key with a hint', () => {
    refused({ maxOldSpaceMb: 256 }, /unknown limit "maxOldSpaceMb" \(did you mean "maxOldSpaceMB"\?\)/);
  });

  it('gives a worker the defaults when nothing is configured', () => {
    assert.deepEqual(workerExecArgv({}, []), [`--max-old-space-size=${DEFAULT_PROCESS_LIMITS.maxOldSpaceMB}`, `--max-semi-space-size=${DEFAULT_PROCESS_LIMITS.maxSemiSpaceMB}`]);
  });

  it('leaves a limit of 0 to Node (no flag) and keeps the other', () => {
    assert.deepEqual(workerExecArgv({ maxOldSpaceMB: 0, maxSemiSpaceMB: 4 }, []), ['--max-semi-space-size=4']);
    assert.deepEqual(workerExecArgv({ maxOldSpaceMB: 0, maxSemiSpaceMB: 0 }, []), []);
  });

  it("keeps the supervisor's other flags and replaces its heap flags, in every spelling", () => {
    const inherited = ['--enable-source-maps', '--max-old-space-size=4000', '--max_semi_space_size=64', '--inspect=0', '--max-semi-space-size=8', '--max-heap-size=512', '--max_heap_size=600', '--min-semi-space-size=4'];
    assert.deepEqual(workerExecArgv({ maxOldSpaceMB: 300, maxSemiSpaceMB: 1 }, inherited), ['--enable-source-maps', '--inspect=0', '--max-old-space-size=300', '--max-semi-space-size=1']);
    assert.deepEqual(workerExecArgv({ maxOldSpaceMB: 0, maxSemiSpaceMB: 0 }, inherited), ['--enable-source-maps', '--inspect=0']);
  });

  it('takes the heap flags out of the NODE_OPTIONS a worker inherits, and only those', () => {
    assert.deepEqual(workerNodeOptions(undefined), {});
    assert.deepEqual(workerNodeOptions('--enable-source-maps --import x.mjs'), {}); // nothing to take out: inherited as it is
    assert.deepEqual(workerNodeOptions('--max-old-space-size=2000  --enable-source-maps --max_semi_space_size=8'), { NODE_OPTIONS: '--enable-source-maps' });
    assert.deepEqual(workerNodeOptions('--require "/a b/c.js" --max-semi-space-size=16'), { NODE_OPTIONS: '--require "/a b/c.js"' });
    assert.deepEqual(workerNodeOptions('--max-old-space-size=2000'), { NODE_OPTIONS: '' });
  });

  // V8 refuses some mixes of heap flags at start (a fatal "Check failed"): the flags a worker gets
  // from a supervisor started with any of them must start a process.
  it('gives flags V8 starts with, whatever heap flags the supervisor had', () => {
    for (const supervisor of [['--max-heap-size=512'], ['--max_heap_size=512', '--max-old-space-size=600'], ['--min-semi-space-size=8', '--max-semi-space-size=16'], []]) {
      for (const limits of [{}, { maxOldSpaceMB: 0 }, { maxSemiSpaceMB: 0 }, { maxOldSpaceMB: 300, maxSemiSpaceMB: 3 }]) {
        const argv = workerExecArgv(limits, supervisor);
        const env = { ...process.env, ...workerNodeOptions('--max-old-space-size=900 --max-semi-space-size=32') };
        const script = 'process.stdout.write(process.execArgv.join(" "))';
        const r = spawnSync(process.execPath, [...argv, '-e', script], { env, encoding: 'utf8' });
        assert.equal(r.status, 0, `node ${argv.join(' ')} failed: ${r.stderr}`);
        assert.equal(r.stdout, [...argv, '-e', script].join(' '));
      }
    }
  });

  it('names the configured limits a one-process server runs without (for its warning)', () => {
    assert.deepEqual(heapFlagsMissing({}, []), []); // nothing configured, nothing asked for
    assert.deepEqual(heapFlagsMissing({ maxOldSpaceMB: 1024, maxSemiSpaceMB: 2 }, []), ['--max-old-space-size=1024', '--max-semi-space-size=2']);
    assert.deepEqual(heapFlagsMissing({ maxOldSpaceMB: 1024, maxSemiSpaceMB: 2 }, ['--max_old_space_size=1024'], '--max-semi-space-size=2'), []);
    // The command line comes after NODE_OPTIONS: its value is the one in effect.
    assert.deepEqual(heapFlagsMissing({ maxSemiSpaceMB: 2 }, ['--max-semi-space-size=8'], '--max-semi-space-size=2'), ['--max-semi-space-size=2']);
    assert.deepEqual(heapFlagsMissing({ maxOldSpaceMB: 0 }, ['--max-old-space-size=300']), ['no --max-old-space-size']);
  });
});
