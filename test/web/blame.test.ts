/**
 * Blame (lib/web/history/blame-page.ts): each line with the commit that last changed it, from a
 * file's versions compared by the `diff` library; lines older than the versions read are marked.
 */
import assert from 'node:assert/strict';
import type { LogCommit } from '../../backends/capabilities.js';
import { blame } from '../../lib/web/history/blame-page.js';
import { VIEWS } from '../../lib/web/views.js';
import { raw, startTestServer } from '../helpers/server.js';

const commit = (id: string): LogCommit => ({ id: id.repeat(40).slice(0, 40), short: id, time: new Date(0), author: 'a', email: '', subject: id, body: '', parents: [] });

describe('history: blame', function () {
  this.timeout(60_000);
  it('keeps the commit of kept lines, gives added and changed lines the new one', () => {
    const [c1, c2, c3] = [commit('1'), commit('2'), commit('3')];
    const lines = blame([{ commit: c1, text: 'a\nb\nc\n' }, { commit: c2, text: 'a\nB\nc\n' }, { commit: c3, text: 'z\na\nB\nc\nd\n' }], true);
    assert.deepEqual(lines.map((l) => `${l.commit.short}:${l.text}`), ['3:z', '1:a', '2:B', '1:c', '3:d']);
    assert.ok(lines.every((l) => !l.before));
  });

  it('marks lines from the oldest version read as "at or before" when older versions were not read', () => {
    const lines = blame([{ commit: commit('5'), text: 'x\n' }, { commit: commit('6'), text: 'x\ny\n' }], false);
    assert.deepEqual(lines.map((l) => [l.commit.short, l.before]), [['5', true], ['6', false]]);
  });

  it('the page (?view=blame): lines with their commits; a folder is a 400', async function () {
    assert.ok(Object.hasOwn(VIEWS, 'blame'));
    const s = await startTestServer({ backend: 'git' });
    try {
      await raw(s.url, '/a.txt', { method: 'PUT', body: 'one\ntwo\n' });
      await raw(s.url, '/a.txt', { method: 'PUT', body: 'one\nTWO\nthree\n' });
      const r = await raw(s.url, '/a.txt?view=blame', { headers: { Accept: 'text/html' } });
      assert.equal(r.status, 200);
      assert.equal([...r.text.matchAll(/<tr class="first">/g)].length, 2, 'two runs: line 1, then lines 2-3');
      assert.match(r.text, /Add a\.txt[\s\S]*one<\/td>[\s\S]*Update a\.txt[\s\S]*TWO<\/td>/);
      assert.equal((await raw(s.url, '/?view=blame')).status, 400);
    } finally {
      await s.close();
    }
  });
});
