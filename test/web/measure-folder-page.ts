/**
 * How fast the folder page of a 100,000-file folder renders (docs/web.md, "Folder page"): a script,
 * not a test (no time is asserted; the figures go into the docs by hand). Builds the folder without
 * PUTs (fs: files written before start; git: one commit by mktree, as bench/big-folder.ts does),
 * starts the real server in this process and times GETs of pages in each order, with the heap used
 * after each. Run: `node --expose-gc dist/test/web/measure-folder-page.js [files]`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitFolder } from '../../bench/big-folder.js';
import type { Entry } from '../../backends/backend.js';
import { orderingOf, selectPage, type Ordering } from '../../lib/dav/listing.js';
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
      (globalThis as { gc?: () => void }).gc?.(); // with --expose-gc: the heap the server keeps, not its garbage
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

/**
 * The page selection alone, in memory (no backend, no HTML): its comparisons per member and its time,
 * for the default order and each sort — the work a page adds to streaming the folder past.
 */
async function selectionWork(): Promise<void> {
  const entries: Entry[] = Array.from({ length: files }, (_, i) => ({ path: `/big/file-${String((i * 7919) % files).padStart(6, '0')}.txt`, kind: 'file', size: (i * 31) % 4096, etag: '"x"', modified: new Date(1.7e12 + ((i * 104729) % files) * 1000) }));
  async function* stream(): AsyncGenerator<Entry> {
    yield* entries;
  }
  for (const sort of [{ field: 'default', desc: false }, { field: 'size', desc: true }, { field: 'modified', desc: true }] as const) {
    const base = orderingOf(sort);
    let compares = 0;
    const counted: Ordering = { ...base, compare: (a, b) => (compares++, base.compare(a, b)) };
    const t0 = process.hrtime.bigint();
    const rows = await selectPage(stream(), {}, 1001, counted);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(`memory\tselectPage ${sort.field}${sort.desc ? ' desc' : ''}\t${rows.length} rows kept of ${files}\t${(compares / files).toFixed(1)} comparisons per member\t${ms.toFixed(0)} ms`);
  }
}

await selectionWork();
for (const backend of ['git', 'fs'] as const) await measure(backend);
