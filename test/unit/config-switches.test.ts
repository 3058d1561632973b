/** Options without a value (--insecure, --no-caldav, --no-carddav, --read-only), and CardDAV following CalDAV. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../lib/config.js';

describe('config: switches', () => {
  it('each switch sets its setting; none set keeps the defaults', () => {
    const plain = loadConfig([], {});
    assert.deepEqual([plain.insecure, plain.caldav, plain.carddav, plain.readOnly], [false, true, true, false]);
    assert.equal(loadConfig(['--insecure'], {}).insecure, true);
    assert.equal(loadConfig(['--read-only'], {}).readOnly, true);
    const noCard = loadConfig(['--no-carddav'], {});
    assert.deepEqual([noCard.caldav, noCard.carddav], [true, false]);
  });

  it('CardDAV is off whenever CalDAV is (address books hang off its principal), from flags, env and files', () => {
    const noCal = loadConfig(['--no-caldav'], {});
    assert.deepEqual([noCal.caldav, noCal.carddav], [false, false]);
    assert.equal(loadConfig([], { GITDAV_CALDAV: 'false' }).carddav, false);
    assert.equal(loadConfig([], { GITDAV_CARDDAV: '0' }).carddav, false);
    assert.equal(loadConfig([], { GITDAV_CARDDAV: 'true' }).carddav, true);
    const dir = mkdtempSync(join(tmpdir(), 'gitdav-config-switches-'));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ carddav: false }));
    assert.equal(loadConfig(['--config', join(dir, 'c.json')], {}).carddav, false);
  });

  it('a misspelt switch is refused with a hint naming the right one', () => {
    assert.throws(() => loadConfig(['--no-carddv'], {}), (err: unknown) => err instanceof ConfigError && /--no-carddav/.test(err.message));
  });
});
