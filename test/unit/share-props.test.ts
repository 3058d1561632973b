/** A grantee's own properties of shares (backends/mount/share-props.ts) kept by several processes at once. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShareProps } from '../../backends/mount/share-props.js';

describe('share props of one grantee in two processes', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-share-props-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('each sees the other’s changes at once, and neither loses the other’s', async () => {
    const file = join(dir, 'state', 'share-props.json');
    const a = new ShareProps(file); // two instances share nothing but the file, as two workers
    const b = new ShareProps(file);
    const owners = new Map([['{DAV:}displayname', '<d>Owner</d>']]);
    assert.deepEqual(await b.overlay('/cal', owners), owners, 'nothing of the grantee’s yet (b has read the missing file)');
    await a.patch('/cal', [{ op: 'set', name: '{DAV:}displayname', value: '<d>Mine</d>' }]);
    assert.equal((await b.overlay('/cal', owners)).get('{DAV:}displayname'), '<d>Mine</d>', 'b reads a’s save');
    await b.patch('/other', [{ op: 'remove', name: '{DAV:}displayname' }]);
    await a.patch('/cal', [{ op: 'set', name: '{urn:x}colour', value: '<c>red</c>' }]);
    for (const s of [a, b, new ShareProps(file)]) {
      const cal = await s.overlay('/cal', owners);
      assert.equal(cal.get('{DAV:}displayname'), '<d>Mine</d>');
      assert.equal(cal.get('{urn:x}colour'), '<c>red</c>');
      assert.equal((await s.overlay('/other', owners)).has('{DAV:}displayname'), false, 'b’s change survived a’s later save');
      s.close();
    }
  });
});
