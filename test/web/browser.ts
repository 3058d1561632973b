/**
 * Debian's chromium, headless, driven by puppeteer-core (nothing downloads a browser): what the web
 * interface's tests share. `openBrowser` skips the suite where chromium is not installed (on CI, a
 * missing chromium fails: .ci/run installs it); `shoot` saves a page's screenshot, light and dark, into docs/screenshots/ (README links them).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { requireTool } from '../helpers/tools.js';

export const CHROMIUM = '/usr/bin/chromium';
/** The source tree's docs/screenshots (dist/test/web/ → ../../../docs/screenshots). */
export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '../../../docs/screenshots');

/** A headless chromium, or the suite skipped (said once on stderr) when it is not installed. */
export async function openBrowser(ctx: Mocha.Context): Promise<Browser> {
  requireTool(ctx, CHROMIUM, 'chromium');
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No sandbox: CI runs as root, where chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--password-store=basic'],
  });
}

/**
 * A new page that logs in with HTTP Basic when `user` is given, collects console errors and CSP
 * violations (a test can assert there are none), and answers dialogs (confirm/prompt) from `answers`.
 */
export async function newPage(browser: Browser, options: { user?: string; password?: string } = {}): Promise<{ page: Page; errors: string[]; answers: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  const answers: string[] = [];
  // The login as a header on every request, not page.authenticate: that pauses every request in the
  // DevTools protocol (Fetch interception), which stalled a 128 MiB upload piece (a harness limit,
  // not the server's; a browser answering the 401 itself sends the same header).
  if (options.user) await page.setExtraHTTPHeaders({ Authorization: `Basic ${Buffer.from(`${options.user}:${options.password ?? ''}`).toString('base64')}` });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', async (d) => {
    const answer = answers.shift();
    if (d.type() === 'confirm' || d.type() === 'alert') await (answer === 'dismiss' ? d.dismiss() : d.accept());
    else await d.accept(answer ?? d.defaultValue());
  });
  page.setDefaultTimeout(60_000);
  return { page, errors, answers };
}

/** Saves `name-light.png` and `name-dark.png` of the page as it is now. */
export async function shoot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.setViewport({ width: 1100, height: 720 });
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${scheme}.png`) as `${string}.png`, fullPage: false });
  }
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
}
