/** Commit messages from a burst's records and net changes (backends/git/journal/messages.ts). */
import assert from 'node:assert/strict';
import { commitMessage, FILES_CAP, type NetChange } from '../../backends/git/journal/messages.js';
import type { JournalRecord, RecordMeta } from '../../backends/git/journal/record.js';
import { quotedTitle } from '../../lib/caldav/put-hook.js';

const BLOB = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391'; // the empty file
const TEXT = '8ab686eafeb1f44702738c8b0f24f2567c36da6d';
const TREE = '4d8d0a2b0f8a7b4c1b53c1ec5f4fa1d4c7c9b1e2';
let seq = 0;
function rec(meta: RecordMeta, extra: Partial<JournalRecord> = {}): JournalRecord {
  return { seq: ++seq, time: 1, user: 'ann', userAgent: 'davfs2/1.7.0 neon/0.32.5', meta, effects: [{ path: meta.to ?? meta.path, slot: null }], ...extra };
}
const put = (path: string, summary?: string) => rec({ op: 'PUT', path, ...(summary ? { summary } : {}) });
const files = (n: number, dir: string, change: NetChange['change']): NetChange[] =>
  Array.from({ length: n }, (_, i) => ({ path: `${dir}/f${i}.txt`, change, kind: 'file' as const }));
const subject = (records: JournalRecord[], changes: NetChange[]) => commitMessage({ records, changes, trailers: [] }).split('\n')[0];

describe('git commit messages', () => {
  const table: Array<[string, JournalRecord[], NetChange[], string]> = [
    ['one update', [put('/docs/plan.md')], [{ path: '/docs/plan.md', change: 'update', kind: 'file' }], 'Update docs/plan.md'],
    ['one add', [put('/docs/plan.md')], [{ path: '/docs/plan.md', change: 'add', kind: 'file' }], 'Add docs/plan.md'],
    ['one delete', [rec({ op: 'DELETE', path: '/docs/plan.md' })], [{ path: '/docs/plan.md', change: 'delete', kind: 'file' }], 'Delete docs/plan.md'],
    ['a new folder of files', [put('/tree/a')], [{ path: '/tree', change: 'add', kind: 'dir', files: 202 }], 'Add 202 files to tree/'],
    ['files added to a folder', [put('/tree/a')], files(202, '/tree', 'add'), 'Add 202 files to tree/'],
    ['files updated in a folder', [put('/docs/a')], files(3, '/docs', 'update'), 'Update 3 files in docs/'],
    ['files deleted from a folder', [rec({ op: 'DELETE', path: '/x/a' })], files(4, '/x', 'delete'), 'Delete 4 files from x/'],
    [
      'folders made side by side',
      [rec({ op: 'MKCOL', path: '/x/a' })],
      ['a', 'b', 'c'].map((n): NetChange => ({ path: `/x/${n}`, change: 'add', kind: 'dir', files: 0 })),
      'Create 3 folders in x/',
    ],
    ['a folder replaced whole', [rec({ op: 'COPY', path: '/s', to: '/d' })], [{ path: '/d', change: 'update', kind: 'dir', files: 7 }], 'Replace d/ (7 files)'],
    ['a folder deleted', [rec({ op: 'DELETE', path: '/tree/d4' })], [{ path: '/tree/d4', change: 'delete', kind: 'dir', files: 25 }], 'Delete tree/d4 (25 files)'],
    ['an empty folder deleted', [rec({ op: 'DELETE', path: '/e' })], [{ path: '/e', change: 'delete', kind: 'dir', files: 0 }], 'Delete folder e'],
    ['a huge folder deleted', [rec({ op: 'DELETE', path: '/big' })], [{ path: '/big', change: 'delete', kind: 'dir', files: FILES_CAP }], 'Delete big (100000+ files)'],
    [
      'a rename',
      [rec({ op: 'MOVE', path: '/a.txt', to: '/b.txt' })],
      [{ path: '/a.txt', change: 'delete', kind: 'file', oid: BLOB }, { path: '/b.txt', change: 'add', kind: 'file', oid: BLOB }],
      'Rename a.txt to b.txt',
    ],
    [
      'a rename without its MOVE record (same content)',
      [rec({ op: 'DELETE', path: '/a.txt' }), put('/b.txt')],
      [{ path: '/a.txt', change: 'delete', kind: 'file', oid: TEXT }, { path: '/b.txt', change: 'add', kind: 'file', oid: TEXT }],
      'Rename a.txt to b.txt',
    ],
    [
      'an empty file deleted and another made (rm a.log; touch b.log) is no rename',
      [rec({ op: 'DELETE', path: '/a.log' }), put('/b.log')],
      [{ path: '/a.log', change: 'delete', kind: 'file', oid: BLOB }, { path: '/b.log', change: 'add', kind: 'file', oid: BLOB }],
      'Add 1, delete 1',
    ],
    [
      'an empty folder deleted and another made (rmdir old; mkdir p/new) is no move',
      [rec({ op: 'DELETE', path: '/old' }), rec({ op: 'MKCOL', path: '/p/new' })],
      [{ path: '/old', change: 'delete', kind: 'dir', files: 0, oid: TREE }, { path: '/p/new', change: 'add', kind: 'dir', files: 0, oid: TREE }],
      'Add 1, delete 1',
    ],
    [
      'an empty folder moved (MOVE said so)',
      [rec({ op: 'MOVE', path: '/old', to: '/p/new' })],
      [{ path: '/old', change: 'delete', kind: 'dir', files: 0, oid: TREE }, { path: '/p/new', change: 'add', kind: 'dir', files: 0, oid: TREE }],
      'Move old to p/new',
    ],
    [
      'empty folders deleted at the top (rmdir x y)',
      [rec({ op: 'DELETE', path: '/x' }), rec({ op: 'DELETE', path: '/y' })],
      [{ path: '/x', change: 'delete', kind: 'dir', files: 0 }, { path: '/y', change: 'delete', kind: 'dir', files: 0 }],
      'Delete folders x, y',
    ],
    [
      'empty folders deleted in a folder (rmdir d/x d/y)',
      [rec({ op: 'DELETE', path: '/d/x' }), rec({ op: 'DELETE', path: '/d/y' })],
      [{ path: '/d/x', change: 'delete', kind: 'dir', files: 0 }, { path: '/d/y', change: 'delete', kind: 'dir', files: 0 }],
      'Delete 2 folders from d/',
    ],
    [
      'folders made side by side at the top',
      [rec({ op: 'MKCOL', path: '/x' }), rec({ op: 'MKCOL', path: '/y' })],
      [{ path: '/x', change: 'add', kind: 'dir', files: 0 }, { path: '/y', change: 'add', kind: 'dir', files: 0 }],
      'Create folders x, y',
    ],
    [
      'a new folder and a new file (mkdir a; put b.txt)',
      [rec({ op: 'MKCOL', path: '/a' }), put('/b.txt')],
      [{ path: '/a', change: 'add', kind: 'dir', files: 0 }, { path: '/b.txt', change: 'add', kind: 'file' }],
      'Add 1 file and 1 folder',
    ],
    [
      'a folder\'s properties and a file updated',
      [rec({ op: 'PROPPATCH', path: '/d' }), put('/d/x.txt')],
      [{ path: '/d', change: 'update', kind: 'dir', propsOnly: true }, { path: '/d/x.txt', change: 'update', kind: 'file' }],
      'Update 1 file and 1 folder',
    ],
    [
      'a move',
      [rec({ op: 'MOVE', path: '/a.txt', to: '/d/a.txt' })],
      [{ path: '/a.txt', change: 'delete', kind: 'file', oid: BLOB }, { path: '/d/a.txt', change: 'add', kind: 'file', oid: BLOB }],
      'Move a.txt to d/a.txt',
    ],
    [
      'mkdir -p',
      [rec({ op: 'MKCOL', path: '/a' }), rec({ op: 'MKCOL', path: '/a/b' }), rec({ op: 'MKCOL', path: '/a/b/c' })],
      [{ path: '/a', change: 'add', kind: 'dir', files: 0 }, { path: '/a/b', change: 'add', kind: 'dir', files: 0 }, { path: '/a/b/c', change: 'add', kind: 'dir', files: 0 }],
      'Create folder a/b/c',
    ],
    ['a restore by PUT', [put('/docs/plan.md')], [{ path: '/docs/plan.md', change: 'update', kind: 'file', restoredFrom: '1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d' }], 'Restore docs/plan.md from 1a2b3c4'],
    ['properties', [rec({ op: 'PROPPATCH', path: '/x' })], [{ path: '/x', change: 'update', kind: 'file', propsOnly: true }], 'Change properties of x'],
    [
      'mixed',
      [put('/x/a')],
      [...files(3, '/x/n', 'add'), ...files(2, '/x', 'update'), { path: '/x/old', change: 'delete', kind: 'file' }],
      'Add 3, update 2, delete 1 in x/',
    ],
    ['an event', [put('/calendars/u/work/d.ics', 'Add event "Dentist"')], [{ path: '/calendars/u/work/d.ics', change: 'add', kind: 'file' }], 'Add event "Dentist"'],
    [
      'a deleted event',
      [rec({ op: 'DELETE', path: '/calendars/u/work/d.ics', summary: 'Delete event "Dentist"' })],
      [{ path: '/calendars/u/work/d.ics', change: 'delete', kind: 'file' }],
      'Delete event "Dentist"',
    ],
    [
      'an event renamed by one MOVE (two net changes)',
      [rec({ op: 'MOVE', path: '/calendars/u/work/a.ics', to: '/calendars/u/work/b.ics', summary: 'Move event "A"' })],
      [
        { path: '/calendars/u/work/a.ics', change: 'delete', kind: 'file', oid: TEXT },
        { path: '/calendars/u/work/b.ics', change: 'add', kind: 'file', oid: TEXT },
      ],
      'Move event "A"',
    ],
    ['a calendar', [rec({ op: 'MKCOL', path: '/calendars/u/work', summary: 'Create calendar "Work"' })], [{ path: '/calendars/u/work', change: 'add', kind: 'dir', files: 0 }], 'Create calendar "Work"'],
    [
      'several events',
      [put('/calendars/u/work/a.ics', 'Add event "A"'), put('/calendars/u/work/b.ics', 'Add event "B"'), put('/calendars/u/work/c.ics', 'Add event "C"')],
      files(3, '/calendars/u/work', 'add'),
      'Add 3 events to calendars/u/work/',
    ],
    [
      'several contacts',
      [put('/addressbooks/u/contacts/a.vcf', 'Add contact "A"'), put('/addressbooks/u/contacts/b.vcf', 'Add contact "B"')],
      files(2, '/addressbooks/u/contacts', 'add'),
      'Add 2 contacts to addressbooks/u/contacts/',
    ],
    [
      'an event written twice (davfs2: empty, then the data) keeps the summary that matches the net',
      [put('/c/d.ics', 'Add event "Dentist"'), put('/c/d.ics', 'Update event "Dentist"')],
      [{ path: '/c/d.ics', change: 'add', kind: 'file' }],
      'Add event "Dentist"',
    ],
    [
      'an event added, then its title corrected, says the newest title',
      [put('/c/d.ics', 'Add event "Dentsit"'), put('/c/d.ics', 'Update event "Dentist"')],
      [{ path: '/c/d.ics', change: 'add', kind: 'file' }],
      'Add event "Dentist"',
    ],
  ];
  for (const [name, records, changes, expected] of table) {
    it(`${name}: ${expected}`, () => assert.equal(subject(records, changes), expected));
  }

  it('keeps a subject within 72 characters by cutting a long path in the middle', () => {
    const long = `/${'very-long-folder-name/'.repeat(6)}plan.md`;
    const s = subject([put(long)], [{ path: long, change: 'update', kind: 'file' }])!;
    assert.ok(s.length <= 72, s);
    assert.match(s, /^Update very-long.*….*plan\.md$/);
  });

  it('cuts a long subject between characters: never half a surrogate pair (U+FFFD in the commit)', () => {
    const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (let n = 28; n <= 34; n++) {
      for (const emoji of [20, 40]) {
        const path = `/${'a'.repeat(n)}${'😀'.repeat(emoji)}/f.txt`;
        const s = subject([put(path)], [{ path, change: 'update', kind: 'file' }])!;
        assert.ok(!lone.test(s), JSON.stringify(s));
        assert.ok(Array.from(new Intl.Segmenter().segment(s)).length <= 72, s);
        if (emoji === 40) assert.ok(s.includes('…'));
      }
    }
    for (let n = 60; n <= 75; n++) {
      const summary = `Add event "${'b'.repeat(n)}${'👍🏽'.repeat(10)}"`;
      const s = subject([put('/c/e.ics', summary)], [{ path: '/c/e.ics', change: 'add', kind: 'file' }])!;
      assert.ok(!lone.test(s) && !/\uD83D\uDC4D(?!\uD83C\uDFFD)/.test(s), JSON.stringify(s));
      const title = quotedTitle(`${'c'.repeat(n)}${'😀'.repeat(20)}`);
      assert.ok(!lone.test(title), JSON.stringify(title));
    }
  });

  it('lists the changed paths (at most 50), then the user and client as trailers', () => {
    const records = [put('/t/a', undefined), rec({ op: 'PUT', path: '/t/b' }, { userAgent: 'rclone/v1.60.1' })];
    const message = commitMessage({ records, changes: files(60, '/t', 'add'), trailers: ['Gitdav-Journal: 41'] });
    const [head, body, trailers, end] = message.split('\n\n');
    assert.equal(head, 'Add 60 files to t/');
    const lines = body!.split('\n');
    assert.equal(lines.length, 51);
    assert.equal(lines[0], 'A t/f0.txt');
    assert.equal(lines[50], '… and 10 more');
    assert.equal(trailers, 'Remote-User: ann\nUser-Agent: davfs2/1.7.0 neon/0.32.5\nUser-Agent: rclone/v1.60.1\nGitdav-Journal: 41\n');
    assert.equal(end, undefined);
    const renamed = commitMessage({
      records: [rec({ op: 'MOVE', path: '/a', to: '/b' })],
      changes: [{ path: '/a', change: 'delete', kind: 'dir', files: 2 }, { path: '/b', change: 'add', kind: 'dir', files: 2 }],
      trailers: [],
    });
    assert.equal(renamed.split('\n\n')[1], 'R a -> b');
    // Another user's UNLOCK marker in the burst wrote nothing: it names nobody.
    const marker = rec({ op: 'UNLOCK', path: '/t', lockedAt: 0 }, { user: 'bob', userAgent: 'cadaver/0.24', effects: [] });
    const withMarker = commitMessage({ records: [put('/t/a'), marker], changes: files(1, '/t', 'add'), trailers: [] });
    assert.equal(withMarker.split('\n\n')[2], 'Remote-User: ann\nUser-Agent: davfs2/1.7.0 neon/0.32.5\n');
  });

  it('keeps user-supplied text on its line: no CR, LF or NUL from paths, summaries, users or clients', () => {
    const evil = rec({ op: 'PUT', path: '/x\nSigned-off-by: eve', summary: 'Add event "a\r\nRemote-User: eve"' }, { user: 'ann\nRemote-User: eve', userAgent: 'ua\0\r\nX: y' });
    const message = commitMessage({ records: [evil], changes: [{ path: '/x\nSigned-off-by: eve', change: 'add', kind: 'file' }], trailers: [] });
    assert.equal(message.split('\n')[0], 'Add event "aRemote-User: eve"');
    assert.ok(!/[\r\0]/.test(message));
    const lines = message.split('\n');
    assert.deepEqual(lines.filter((l) => l.startsWith('Remote-User:')), ['Remote-User: annRemote-User: eve']);
    assert.ok(!lines.some((l) => l.startsWith('Signed-off-by')));
    assert.ok(message.endsWith('User-Agent: uaX: y\n'));
  });
});
