/**
 * History in a real browser (Debian's chromium through puppeteer-core): edit a file several times,
 * open its History, see the commits, open a commit and see the diff lines, switch to side by side
 * (history.js, no reload), restore an old version (the confirm accepted) and find the restore commit
 * in `git log`, restore a deleted file from the folder's history — without a login and as a user
 * with one (their own repository). Screenshots (the first run): web-history, web-commit, web-diff, web-blame.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'puppeteer-core';
import { join } from 'node:path';
import { basic, raw, startTestServer, type TestServer } from '../helpers/server.js';
import { tool } from '../helpers/tools.js';
import { newPage, openBrowser, shoot } from './browser.js';

const git = async (root: string, ...args: string[]): Promise<string> => (await tool('git', ['--git-dir', root, ...args])).stdout.trim();

for (const login of [false, true]) describe(`web interface: history in the browser${login ? ' (with a login)' : ''}`, function () {
  this.timeout(180_000);
  let s: TestServer;
  let repo: string; // the repository the writes land in: the root, or the user's own
  let browser: Browser | undefined;
  const auth: Record<string, string> = login ? basic('alice', 'alice-secret') : {};
  const who = login ? { user: 'alice', password: 'alice-secret' } : {};
  const snap = (page: Page, name: string): Promise<void> => (login ? Promise.resolve() : shoot(page, name));
  before(async function () {
    browser = await openBrowser(this);
    s = await startTestServer({ backend: 'git', git: { burstWindowMs: 0 }, ...(login ? { users: { alice: 'alice-secret' } } : {}) });
    repo = login ? join(s.root, 'users', 'alice') : s.root;
    await raw(s.url, '/notes', { method: 'MKCOL', headers: auth });
    const versions = [
      '# Plan\n\nBuy milk.\nCall Anna.\n',
      '# Plan\n\nBuy milk and bread.\nCall Anna.\n',
      '# Plan\n\nBuy milk and bread.\nCall Anna on Friday.\nBook the train.\n',
    ];
    for (const v of versions) assert.ok((await raw(s.url, '/notes/plan.md', { method: 'PUT', body: v, headers: auth })).status < 300);
    await raw(s.url, '/notes/draft.txt', { method: 'PUT', body: 'an old draft\n', headers: auth });
    await raw(s.url, '/notes/draft.txt', { method: 'DELETE', headers: auth });
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('shows the history, a commit with its diff lines, side by side, and restores an old version', async () => {
    const { page, errors, answers } = await newPage(browser!, who);
    await page.goto(`${s.url}/notes/plan.md?view=history`, { waitUntil: 'networkidle0' });
    const subjects = await page.$$eval('li.commit .subject', (as) => as.map((a) => a.textContent));
    assert.deepEqual(subjects, ['Update notes/plan.md', 'Update notes/plan.md', 'Add notes/plan.md']);
    assert.doesNotMatch(await page.$eval('li.commit time', (t) => t.textContent ?? ''), /UTC$/, 'human times');
    await snap(page, 'web-history');

    // The newest commit: its diff shows the added and removed lines.
    await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('li.commit .subject')]);
    assert.equal(await page.$eval('main', (m) => m.id), 'commit');
    const added = await page.$$eval('table.diff tr.add td.code', (tds) => tds.map((td) => td.textContent));
    const removed = await page.$$eval('table.diff tr.del td.code', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(added, ['+Call Anna on Friday.', '+Book the train.']);
    assert.deepEqual(removed, ['-Call Anna.']);
    await snap(page, 'web-commit');

    // Side by side, swapped in by history.js: the same page, no navigation.
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    await page.click('a[data-action="layout"][data-layout="split"]');
    await page.waitForSelector('table.diff.split');
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 1, 'no reload');
    assert.match(page.url(), /layout=split/);
    assert.deepEqual(await page.$$eval('table.diff.split td.code.add', (tds) => tds.map((td) => td.textContent)), ['+Call Anna on Friday.', '+Book the train.']);

    // The diff of the first version against now.
    await page.goto(`${s.url}/notes/plan.md?view=history`, { waitUntil: 'networkidle0' });
    const oldest = await page.$eval('li.commit:last-child', (li) => li.getAttribute('data-id'));
    await page.goto(`${s.url}/notes/plan.md?view=diff&from=${oldest}`, { waitUntil: 'networkidle0' });
    assert.ok((await page.$$('table.diff tr.add')).length >= 2);
    await snap(page, 'web-diff');

    // Blame: each line with the commit that last changed it.
    await page.goto(`${s.url}/notes/plan.md?view=blame`, { waitUntil: 'networkidle0' });
    assert.deepEqual(await page.$$eval('#blame td.code', (tds) => tds.map((td) => td.textContent)), ['# Plan', '', 'Buy milk and bread.', 'Call Anna on Friday.', 'Book the train.']);
    await snap(page, 'web-blame');

    // Restore the first version: confirm, COPY, notice, reload.
    await page.goto(`${s.url}/notes/plan.md?view=history`, { waitUntil: 'networkidle0' });
    answers.push('accept');
    await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('li.commit:last-child button[data-action="restore"]')]);
    assert.equal((await raw(s.url, '/notes/plan.md', { headers: auth })).text, '# Plan\n\nBuy milk.\nCall Anna.\n');
    const short = oldest!.slice(0, 7);
    assert.equal(await git(repo, 'log', '-1', '--format=%s'), `Restore notes/plan.md from ${short}`);
    assert.equal(await page.$eval('li.commit .subject', (a) => a.textContent), `Restore notes/plan.md from ${short}`, 'the page shows it');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('a dismissed confirm changes nothing; a deleted file is restored from the folder history', async () => {
    const { page, errors, answers } = await newPage(browser!, who);
    await page.goto(`${s.url}/notes/?view=history`, { waitUntil: 'networkidle0' });
    const head = await git(repo, 'rev-parse', 'HEAD');
    answers.push('dismiss');
    await page.click('#deleted li[data-path="/notes/draft.txt"] button[data-action="restore"]');
    assert.equal(await git(repo, 'rev-parse', 'HEAD'), head, 'nothing committed');
    assert.equal((await raw(s.url, '/notes/draft.txt', { headers: auth })).status, 404);
    answers.push('accept');
    await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('#deleted li[data-path="/notes/draft.txt"] button[data-action="restore"]')]);
    assert.equal((await raw(s.url, '/notes/draft.txt', { headers: auth })).text, 'an old draft\n');
    assert.match(await git(repo, 'log', '-1', '--format=%s'), /^Restore notes\/draft\.txt from [0-9a-f]{7}$/);
    assert.equal(await page.$('#deleted li[data-path="/notes/draft.txt"]'), null, 'no longer listed as deleted');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('a restore the server refuses shows its message on the page and changes nothing', async () => {
    const { page, answers } = await newPage(browser!, who);
    await page.goto(`${s.url}/notes/plan.md?view=history`, { waitUntil: 'networkidle0' });
    const head = await git(repo, 'rev-parse', 'HEAD');
    // A version that does not exist (as a stale page would name): 404, shown in #notice.
    await page.$eval('button[data-action="restore"]', (b) => b.setAttribute('data-from', '/.history/versions/notes/plan.md/2020-01-01T000000Z-0000000.md'));
    answers.push('accept');
    await page.click('button[data-action="restore"]');
    await page.waitForFunction(() => document.querySelector('#notice')?.className === 'error');
    assert.match(await page.$eval('#notice', (n) => n.textContent ?? ''), /Could not restore plan\.md: 404/);
    assert.equal(await git(repo, 'rev-parse', 'HEAD'), head);
    await page.close();
  });
});
