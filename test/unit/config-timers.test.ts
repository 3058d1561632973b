/** Delays a timer has to keep (drainTimeoutMs, shutdownGraceMs) are checked: Node fires a longer one after 1 ms. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, MAX_TIMER_MS } from '../../lib/config.js';

describe('config: timer delays', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gitdav-config-timers-'));
  const load = (values: Record<string, unknown>) => {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify(values));
    return loadConfig(['--root', dir, '--config', file], {});
  };

  for (const key of ['drainTimeoutMs', 'shutdownGraceMs']) {
    it(`${key} above 2^31-1 ms, negative or not whole is refused with a clear message`, () => {
      for (const bad of [MAX_TIMER_MS + 1, 1e12, -1, 1.5, 'soon']) {
        assert.throws(() => load({ [key]: bad }), (err: unknown) => err instanceof ConfigError && new RegExp(`^${key} must be a whole number of milliseconds from 0 to 2147483647`).test(err.message));
      }
    });
    it(`${key} from 0 to 2^31-1 is taken`, () => {
      assert.equal(load({ [key]: MAX_TIMER_MS })[key as 'drainTimeoutMs'], MAX_TIMER_MS);
      assert.equal(load({ [key]: 0 })[key as 'drainTimeoutMs'], 0);
    });
  }
});
