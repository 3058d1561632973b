/**
 * Group append with look-ups remembered per state: operations folded into one journal transaction each
 * see the state the earlier ones left (their guards and their checks), a failed one leaves nothing
 * behind, and nothing remembered from the stored tree or from a rolled-back edit leaks into a later
 * operation. The committer then turns the records into commits, replaying them on a tip a native
 * push moved.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../backends/backend.js';
import { Committer } from '../backends/git/committer.js';
import { JournalWriter, type Operation } from '../backends/git/journal-writer.js';
import { Journal } from '../backends/git/journal/journal.js';
import { LiveState } from '../backends/git/live-state.js';
import { ObjectStore } from '../backends/git/objects.js';
import { Refs } from '../backends/git/refs.js';
import { type Slot, type TreeEditor } from '../backends/git/tree.js';
import { tool } from './helpers/tools.js';

const REF = 'refs/heads/main';
const EMPTY = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

describe('git group commit', function () {
  this.timeout(30_000);
  let dir: string;
  let store: ObjectStore;
  let committer: Committer;
  let writer: JournalWriter;
  let refs: Refs;
  let journal: Journal;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-group-'));
    await tool('git', ['init', '-q', '--bare', dir]);
    store = new ObjectStore(dir);
    const placeholder = { name: '.davprops', oid: await store.writeBuffer('blob', Buffer.from('{}')) };
    refs = new Refs(dir);
    journal = await Journal.open(join(dir, 'gitdav'));
    ({ committer, writer } = committerWith(refs, placeholder));
  });
  afterEach(async () => {
    committer.stop();
    await committer.idle();
    await journal.close();
    refs.close(); // the ref files it holds open
    await rm(dir, { recursive: true, force: true });
  });

  const committerWith = (refs: Refs, placeholder: { name: string; oid: string }) => {
    const tip = async (fresh = false) => {
      const commit = await refs.read(REF, 0, fresh);
      return { commit, tree: commit ? (await store.readCommit(commit)).tree : EMPTY, time: new Date(0) };
    };
    const live = new LiveState({ store, journal, placeholder, tip });
    const committer = new Committer({
      store,
      refs,
      ref: REF,
      journal,
      live,
      placeholder,
      identity: { name: 't', email: 't@t' },
      defaultAuthor: { name: 't', email: 't@t' },
      rules: { windowMs: 60_000, maxAgeMs: 60_000 }, // commits only when asked (commitAll)
    });
    const writer = new JournalWriter({
      store,
      journal,
      live,
      placeholder,
      statIn: async (editor: TreeEditor, path: string): Promise<Entry | null> => {
        const slot = await editor.get(path);
        if (!slot) return null;
        return { path, kind: slot.kind === 'dir' ? 'collection' : 'file', size: 0, etag: `"${slot.kind === 'file' ? slot.oid : 'dir'}"`, modified: new Date(0) };
      },
    });
    return { committer, writer };
  };
  const op = (name: string, rest: Omit<Operation<unknown>, 'meta'>): Operation<unknown> => ({ meta: { op: 'PUT', path: `/${name}` }, ...rest });
  const trailerSeqs = async () => (await tool('git', ['--git-dir', dir, 'log', '--format=%(trailers:key=Gitdav-Journal,valueonly)', REF])).stdout.split('\n').filter(Boolean).map((v) => v.split(' ')[1]!);

  const file = async (text: string): Promise<Slot> => ({ kind: 'file', mode: '100644', oid: await store.writeBuffer('blob', Buffer.from(text)) });
  const etag = (slot: Slot) => `"${slot.kind === 'file' ? slot.oid : 'dir'}"`;

  it('each guard and check in a batch sees the earlier operations, and none of a failed one', async () => {
    const [warm, one, two, three] = await Promise.all(['w', 'one', 'two', 'three'].map(file));
    // The first submit starts a commit at once; everything submitted while it runs is one batch.
    const first = writer.submit(op('warm', { apply: async (e) => e.set('/warm.txt', warm!) }));
    const ops: Array<Operation<unknown>> = [
      // Looks up /a.txt in the stored tree (remembered by tree id), then creates it.
      op('create a', { guard: async (v) => assert.equal(await v.stat('/a.txt'), null), apply: async (e) => e.set('/a.txt', one!) }),
      // Sees the first one's file, not the stored tree's answer for /a.txt.
      op('replace a', { guard: async (v) => assert.equal((await v.stat('/a.txt'))?.etag, etag(one!)), apply: async (e) => e.set('/a.txt', two!) }),
      // Fails after editing: rolled back whole.
      op('fails', {
        apply: async (e) => {
          await e.set('/b', { kind: 'dir', oid: EMPTY });
          await e.set('/b/c.txt', three!);
          assert.equal((await e.get('/b/c.txt')) && 'found', 'found');
          throw new Error('refused');
        },
      }),
      // Sees neither the failed one's folder nor anything remembered from it.
      op('after the failure', {
        guard: async (v) => {
          assert.equal(await v.stat('/b/c.txt'), null);
          assert.equal(await v.stat('/b'), null);
          assert.equal((await v.stat('/a.txt'))?.etag, etag(two!));
        },
        apply: async (e) => {
          assert.equal(await e.get('/b'), null);
          await e.set('/a.txt', null);
          assert.equal(await e.get('/a.txt'), null);
          await e.set('/d.txt', three!);
        },
      }),
    ];
    const results = await Promise.allSettled(ops.map((o) => writer.submit(o)));
    await first;
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    await committer.commitAll();
    // Four records (the failed one appended nothing), each committed once.
    assert.deepEqual((await trailerSeqs()).map(Number).sort((a, b) => a - b).pop(), 4);
    assert.equal(new Set(await trailerSeqs()).size, (await trailerSeqs()).length);
    const files = await tool('git', ['--git-dir', dir, 'ls-tree', '-r', '--name-only', REF]);
    assert.deepEqual(files.stdout.trim().split('\n').sort(), ['d.txt', 'warm.txt']);
  });

  it('after a failed compare-and-swap the head is read afresh, so a stale remembered ref cannot hold writes back', async () => {
    // Refs whose remembered reads keep the first answer, as a ref written in place by hand within one
    // timestamp tick of a read could leave them (refs.ts; git itself never writes a ref in place).
    // Reads by name (`fresh`, the committer's replay) go to the file.
    class StaleRefs extends Refs {
      first: string | null | undefined;
      override async read(ref: string, depth = 0, fresh = false): Promise<string | null> {
        if (fresh) return super.read(ref, depth, true);
        if (this.first === undefined || this.first === null) this.first = await super.read(ref, depth);
        return this.first;
      }
    }
    refs.close();
    refs = new StaleRefs(dir);
    const placeholder = { name: '.davprops', oid: await store.writeBuffer('blob', Buffer.from('{}')) };
    committer.stop();
    const stale = committerWith(refs, placeholder);
    committer = stale.committer;
    const [one, two] = await Promise.all(['one', 'two'].map(file));
    await stale.writer.submit(op('one.txt', { apply: async (e) => e.set('/one.txt', one!) }));
    await stale.committer.commitAll();
    const first = await refs.read(REF);
    assert.ok(first);
    assert.equal(first, (await tool('git', ['--git-dir', dir, 'rev-parse', REF])).stdout.trim());
    // Another writer (native git) moves the branch; the remembered value is now stale.
    const tree = (await tool('git', ['--git-dir', dir, 'rev-parse', `${REF}^{tree}`])).stdout.trim();
    const native = (await tool('git', ['--git-dir', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit-tree', '-p', first, '-m', 'native', tree])).stdout.trim();
    assert.equal((await tool('git', ['--git-dir', dir, 'update-ref', REF, native, first])).code, 0);
    assert.equal(await refs.read(REF), first, 'the cache is stale, as set up');
    await stale.writer.submit(op('two.txt', { apply: async (e) => e.set('/two.txt', two!) }));
    await stale.committer.commitAll();
    const log = await tool('git', ['--git-dir', dir, 'log', '--format=%s', REF]);
    const subjects = log.stdout.trim().split('\n');
    assert.equal(subjects.length, 3);
    assert.equal(subjects[1], 'native');
    assert.deepEqual(await trailerSeqs(), ['2', '1']);
    const files = await tool('git', ['--git-dir', dir, 'ls-tree', '-r', '--name-only', REF]);
    assert.deepEqual(files.stdout.trim().split('\n').sort(), ['one.txt', 'two.txt']);
  });
});
