/**
 * Listing a file's versions on a 10,000-commit history: the history is made with `git fast-import`
 * (every commit changes notes.txt, every 10th also another file), served by an in-process git-backend
 * server on loopback, and `PROPFIND Depth: 1` on `/.history/versions/notes.txt/` is timed: the first
 * (cold) request, then the median of 20. Opening the repository builds the path index: timed too.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGitRepository } from '../backends/git/repository.js';
import { createApp, listen } from '../lib/server.js';

const COMMITS = 10_000;

function fastImportStream(): string {
  const parts: string[] = [];
  const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  const t0 = 1_700_000_000;
  for (let i = 1; i <= COMMITS; i++) {
    parts.push(`commit refs/heads/main\nmark :${i}\ncommitter Bench <bench@example.com> ${t0 + i * 60} +0000\n${data(`edit ${i}`)}`);
    if (i > 1) parts.push(`from :${i - 1}\n`);
    parts.push(`M 100644 inline notes.txt\n${data(`version ${i}\n`)}`);
    if (i % 10 === 0) parts.push(`M 100644 inline docs/other-${i % 100}.txt\n${data(`other ${i}\n`)}`);
    parts.push('\n');
  }
  return parts.join('');
}

export async function measureHistory(): Promise<{ value?: number; note: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'gitdav-bench-history-'));
  try {
    const init = spawnSync('git', ['init', '-q', '--bare', '-b', 'main', dir]);
    if (init.error || init.status !== 0) return { note: 'n/a (git not installed)' };
    const imported = spawnSync('git', ['--git-dir', dir, 'fast-import', '--quiet'], { input: fastImportStream(), maxBuffer: 1 << 26 });
    if (imported.status !== 0) return { note: `n/a (fast-import failed: ${imported.stderr})` };

    const t0 = performance.now();
    const backend = await openGitRepository({ root: dir });
    const openMs = performance.now() - t0;
    const running = await listen(await createApp({ backend, caldav: false }), '127.0.0.1', 0);
    try {
      const url = `${running.url}/.history/versions/notes.txt/`;
      const once = async () => {
        const s = performance.now();
        const r = await fetch(url, { method: 'PROPFIND', headers: { Depth: '1' } });
        const text = await r.text();
        if (r.status !== 207) throw new Error(`PROPFIND answered ${r.status}`);
        return { ms: performance.now() - s, listed: (text.match(/<D:response>/g) ?? []).length - 1 };
      };
      const cold = await once();
      const warm: number[] = [];
      for (let i = 0; i < 20; i++) warm.push((await once()).ms);
      warm.sort((a, b) => a - b);
      const p50 = warm[10]!;
      return {
        value: p50,
        note: `${p50.toFixed(1)} ms p50 (cold ${cold.ms.toFixed(0)} ms; ${cold.listed} newest versions listed of ${COMMITS}; opening the repository and indexing ${COMMITS} commits took ${(openMs / 1000).toFixed(1)} s) ${p50 < 100 ? 'PASS' : 'FAIL'} (< 100 ms)`,
      };
    } finally {
      await running.close(1000);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run alone: node dist/bench/history.js
if (import.meta.url === `file://${process.argv[1]}`) {
  measureHistory().then((r) => console.log(r.note));
}
