/**
 * How fast the folder page of a 100,000-file folder renders (docs/web.md, "Folder page"): a script,
 * not a test (no time is asserted; the figures go into the docs by hand). Builds the folder without
 * PUTs (fs: files written before start; git: one commit by mktree, as bench/big-folder.ts does),
 * starts the real server in this process and times GETs of pages in each order, with the heap used
 * after each. Run: `node dist/test/web/measure-folder-page.js [files]`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitFolder } from '../../bench/big-folder.js';
import { htmlRows, pageLink } from '../helpers/html-rows.js';
import { raw, startTestServer } from '../helpers/server.js';

const files = Number(process.argv[2] ?? 100_000);

async function measure(backend: 'fs' | 'git'): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), `gitdav-measure-${backend}-`));
  if (backend === 'git') gitFolder(root, files);
  else {
    mkdirSync(join(root, 'big'));
    for (let i = 0; i < files; i++) writeFileSync(join(root, 'big', `file-${String(i).padStart(6, '0')}.txt`), 'x\n');
  }
  const s = await startTestServer({ root, backend });
  try {
    const html = { Accept: 'text/html' };
    const time = async (label: string, path: string): Promise<string> => {
      const t0 = process.hrtime.bigint();
      const r = await raw(s.url, path, { headers: html });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const heap = process.memoryUsage().heapUsed / 1e6;
      console.log(`${backend}\t${label}\t${r.status}\t${htmlRows(r.text).length} rows\t${(r.body.length / 1e3).toFixed(0)} kB\t${ms.toFixed(0)} ms\theap ${heap.toFixed(0)} MB`);
      return r.text;
    };
    await time('first page, cold', '/big/');
    const first = await time('first page, warm', '/big/');
    await time('next page (cursor)', pageLink(first, 'next')!);
    const bySize = await time('?sort=size&order=desc', '/big/?sort=size&order=desc');
    await time('its next page', pageLink(bySize, 'next')!);
    await time('?sort=modified&order=desc', '/big/?sort=modified&order=desc');
    await time('?page=50', '/big/?page=50');
  } finally {
    await s.close();
    await rm(root, { recursive: true, force: true });
  }
}

for (const backend of ['git', 'fs'] as const) await measure(backend);
