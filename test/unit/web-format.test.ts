/** Small formatting pieces of the pages (lib/web/format.ts): sizes, `<time>` tags, icon kinds. */
import assert from 'node:assert/strict';
import { humanSize, iconClass, timeTag } from '../../lib/web/format.js';

describe('web page formatting (lib/web/format.ts)', () => {
  it('sizes: bytes exact, then one decimal in binary units', () => {
    assert.equal(humanSize(0), '0 B');
    assert.equal(humanSize(1023), '1023 B');
    assert.equal(humanSize(1024), '1.0 KiB');
    assert.equal(humanSize(1536), '1.5 KiB');
    assert.equal(humanSize(5 * 1024 ** 3), '5.0 GiB');
  });

  it('times: the exact UTC time as text and in datetime (app.js makes it human)', () => {
    assert.equal(timeTag(new Date(Date.UTC(2026, 11, 7, 21, 0, 5))), '<time datetime="2026-12-07T21:00:05.000Z" title="2026-12-07T21:00:05.000Z">2026-12-07 21:00:05 UTC</time>');
  });

  it('icons by kind, folders apart, an unknown kind a plain file', () => {
    assert.equal(iconClass('x/', true), 'icon icon-folder');
    assert.equal(iconClass('a.PNG', false), 'icon icon-image');
    assert.equal(iconClass('cal.ics', false), 'icon icon-calendar');
    assert.equal(iconClass('main.ts', false), 'icon icon-code');
    assert.equal(iconClass('notes.md', false), 'icon icon-text');
    assert.equal(iconClass('data.bin', false), 'icon icon-file');
  });
});
