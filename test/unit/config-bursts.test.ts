import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../lib/config.js';

describe('config: bursts and ignore (git backend)', () => {
  it('burstWindowMs and burstMaxAgeMs come from flags, the environment or the file; unset by default', () => {
    assert.equal(loadConfig([], {}).burstWindowMs, undefined);
    assert.equal(loadConfig(['--burst-window-ms', '0'], {}).burstWindowMs, 0);
    assert.equal(loadConfig([], { GITDAV_BURST_MAX_AGE_MS: '5000' }).burstMaxAgeMs, 5000);
    for (const bad of ['-1', '1.5', 'soon', '86400001']) assert.throws(() => loadConfig(['--burst-window-ms', bad], {}), ConfigError, bad);
  });

  it('ignore is a list of patterns from the config file; anything else is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gitdav-cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ ignore: ['.DS_Store', '*.swp'], burstWindowMs: 500 }));
    const config = loadConfig(['--config', file], {});
    assert.deepEqual(config.ignore, ['.DS_Store', '*.swp']);
    assert.equal(config.burstWindowMs, 500);
    writeFileSync(file, JSON.stringify({ ignore: '.DS_Store' }));
    assert.throws(() => loadConfig(['--config', file], {}), /ignore must be a list/);
  });
});
