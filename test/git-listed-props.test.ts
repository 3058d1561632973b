/**
 * backends/git/listed-props.ts: the files a listing made carry its property reader (PROPFIND allprop
 * reads every member's properties), so GitBackend.props(path, entry) reads the folder's sidecar once
 * for the listing instead of looking each path up. Only the very entry the listing made is trusted:
 * a copy (`{...entry}`, as MountView and the DAV layer make) takes the usual way. Steps are counted
 * with the git probe (look-ups by path), not timed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Entry } from '../backends/backend.js';
import { GitBackend } from '../backends/git/index.js';
import { setGitProbe } from '../backends/git/probe.js';

describe('git: properties of listed files', function () {
  this.timeout(60_000);
  let root: string;
  let backend: GitBackend;
  /** Paths looked up in a tree (walked, or answered from the memo of paths already looked up). */
  let lookedUp: string[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gitdav-listed-'));
    backend = await GitBackend.open({ root, burstWindowMs: 0 });
    await backend.mkcol('/d');
    for (const name of ['x.txt', 'y.txt']) await backend.write(`/d/${name}`, Readable.from([Buffer.from(name)]));
    await backend.patchProps('/d/x.txt', [{ op: 'set', name: 'urn:t test', value: 'on x' }]);
    setGitProbe({ ref: () => undefined, commit: () => undefined, walk: (p) => lookedUp.push(p), memo: (p) => lookedUp.push(p) });
  });
  after(async () => {
    setGitProbe(undefined);
    await backend.close();
    await rm(root, { recursive: true, force: true });
  });

  async function listed(): Promise<Entry[]> {
    const out: Entry[] = [];
    for await (const e of backend.list('/d')) if (e.kind === 'file') out.push(e);
    assert.deepEqual(out.map((e) => e.path), ['/d/x.txt', '/d/y.txt']);
    return out;
  }

  it("a listed file's properties come from its listing: no look-up of its path", async () => {
    const files = await listed();
    lookedUp = [];
    const props = await Promise.all(files.map((e) => backend.props(e.path, e)));
    assert.deepEqual(props.map((p) => [...p]), [[['urn:t test', 'on x']], []]);
    assert.deepEqual(lookedUp.filter((p) => files.some((e) => e.path === p)), [], 'no file path looked up');
  });

  it('a copy of a listed entry ({...entry}) takes the usual way: its path is looked up', async () => {
    const files = await listed();
    lookedUp = [];
    const props = await Promise.all(files.map((e) => backend.props(e.path, { ...e })));
    assert.deepEqual(props.map((p) => [...p]), [[['urn:t test', 'on x']], []]);
    assert.deepEqual(lookedUp.filter((p) => files.some((e) => e.path === p)).sort(), ['/d/x.txt', '/d/y.txt']);
  });
});
