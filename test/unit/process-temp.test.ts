/** Per-process temp folders (backends/util/process-temp.ts) and their names (process-identity.ts). */
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holderName, holderOfName, self } from '../../backends/util/process-identity.js';
import { closeTempArea, openTempArea } from '../../backends/util/process-temp.js';

describe('per-process temp folders', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-ptemp-'));
  });
  afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

  it('a process with no /proc facts gets a name that reads back as its holder', () => {
    const name = holderName({ pid: 5, start: '?', boot: '?', ns: '?' });
    assert.equal(name, 'p5-x-x-x');
    assert.deepEqual(holderOfName(name), { pid: 5 });
  });

  it('a folder named like a process’s but unreadable here is never removed as an old flat file', async () => {
    const odd = join(dir, 'p5-?-x-?');
    await fsp.mkdir(odd);
    const old = new Date(Date.now() - 2 * 3600_000);
    await fsp.utimes(odd, old, old);
    await openTempArea(dir, { legacyMs: 1000 });
    assert.ok(existsSync(odd));
  });

  it('the last user of the area in a process removes its folder; one opened twice stays until the second close', async () => {
    const own = await openTempArea(dir);
    await openTempArea(dir);
    await fsp.writeFile(join(own, 'f'), 'x');
    await closeTempArea(dir);
    assert.ok(existsSync(own));
    await closeTempArea(dir);
    assert.ok(!existsSync(own));
  });

  it('a folder of a process in another pid namespace goes once untouched for long, not before', async () => {
    const me = self();
    const elsewhere = (pid: number) => join(dir, holderName({ pid, start: '1', boot: me.boot, ns: '1' + (me.ns ?? '0') }));
    const [fresh, old] = [elsewhere(7), elsewhere(8)];
    await fsp.mkdir(fresh);
    await fsp.mkdir(old);
    const long = new Date(Date.now() - 2 * 86400_000);
    await fsp.utimes(old, long, long);
    await openTempArea(dir);
    await closeTempArea(dir);
    assert.ok(existsSync(fresh));
    assert.ok(!existsSync(old));
  });
});
