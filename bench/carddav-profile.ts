/**
 * Where gitdav spends the CardDAV bench's time: one gitdav process (`--workers 1`) under
 * `node --cpu-prof`, an address book made by extended MKCOL, then one phase — `upload` (N cards PUT
 * by 8 clients) or `query` (the cards filled straight into storage, then RUNS queries by name and by
 * e-mail) — and the profile's top self time and long busy stretches (bench/cpu-profile.ts).
 * `node dist/bench/carddav-profile.js [upload|query] [git|fs]`; BENCH_CARDDAV_CARDS (default 3,000),
 * BENCH_CARDDAV_RUNS (default 20), BENCH_CARDDAV_PREFILL (upload: this many of the cards written
 * straight into storage first, so the PUTs profiled are those into a big address book).
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateContacts } from './carddav-data.js';
import { addressBookQueryBody, mkAddressBookBody, VCARD_CONTENT_TYPE } from './carddav-http.js';
import { keepAlive, median, putAll, reportHeaders, send } from './caldav-http.js';
import { gitFill, writeAll } from './caldav-servers.js';
import { formatProfile, summarizeProfile } from './cpu-profile.js';
import { waitForGit } from './git.js';
import { cleanEnv } from './peers.js';
import { freePort, installSignalHandlers, makeTempDir, removeTempDir, startTracked, stopTracked, waitForPort } from './proc.js';

async function main(): Promise<void> {
  const phase = process.argv[2] === 'query' ? 'query' : 'upload';
  const backend = process.argv[3] === 'fs' ? 'fs' : 'git';
  const count = Number(process.env.BENCH_CARDDAV_CARDS ?? 3000);
  const runs = Number(process.env.BENCH_CARDDAV_RUNS ?? 20);
  const cli = fileURLToPath(new URL('../lib/cli.js', import.meta.url));
  const base = makeTempDir(`carddav-profile-${backend}`);
  const dataDir = join(base, backend === 'git' ? 'repo' : 'data');
  if (backend === 'fs') mkdirSync(dataDir);
  const profileDir = join(base, 'profile');
  const port = await freePort();
  const args = ['--cpu-prof', '--cpu-prof-dir', profileDir, cli, 'serve', '--backend', backend, '--root', dataDir, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error', '--workers', '1'];
  const t = startTracked(`carddav-profile-${backend}`, process.execPath, args, { env: cleanEnv() });
  const out: string[] = [];
  try {
    await waitForPort(port, t, 30_000);
    const url = `http://127.0.0.1:${port}/addressbooks/user/bench/`;
    const agent = keepAlive();
    for (let i = 0; i < 300 && (await send(agent, `http://127.0.0.1:${port}/`, 'OPTIONS')).status === 503; i++) await new Promise((r) => setTimeout(r, 100));
    const mk = await send(agent, url, 'MKCOL', { 'Content-Type': 'application/xml; charset=utf-8' }, mkAddressBookBody('bench'));
    if (mk.status !== 201) throw new Error(`MKCOL ${mk.status}`);
    const cards = generateContacts(count).map((c) => ({ name: c.name, body: c.vcf }));
    const fill = (items: typeof cards) => (backend === 'fs' ? writeAll(join(dataDir, 'addressbooks', 'user', 'bench'), items) : gitFill(dataDir, 'addressbooks/user/bench', items));
    if (phase === 'upload') {
      const prefill = Math.min(count, Number(process.env.BENCH_CARDDAV_PREFILL ?? 0));
      if (prefill) fill(cards.slice(0, prefill));
      const up = await putAll(url, cards.slice(prefill), VCARD_CONTENT_TYPE, 8, 600);
      if (prefill) out.push(`${prefill} cards filled straight into storage first`);
      out.push(`upload: ${up.done} PUTs, ${up.rate.toFixed(1)}/s, ${up.errors} errors`);
    } else {
      fill(cards);
      for (const q of ['name', 'email'] as const) {
        const times: number[] = [];
        for (let i = 0; i <= runs; i++) times.push((await send(agent, url, 'REPORT', reportHeaders('1'), addressBookQueryBody(q))).ms);
        out.push(`query by ${q}: first ${times[0]!.toFixed(1)} ms, p50 ${median(times.slice(1)).toFixed(1)} ms`);
      }
    }
    agent.destroy();
    if (backend === 'git') await waitForGit(dataDir);
  } finally {
    await stopTracked(t, 60_000);
    // A supervisor and its worker each write one (cluster workers inherit --cpu-prof): the biggest is the worker's.
    const files = existsSync(profileDir) ? readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).sort((a, b) => statSync(join(profileDir, b)).size - statSync(join(profileDir, a)).size) : [];
    out.push(`${phase}, ${backend}, ${count} cards, --workers 1:`, ...(files[0] ? formatProfile(summarizeProfile(join(profileDir, files[0]))) : ['(no CPU profile was written)']));
    removeTempDir(base);
  }
  process.stdout.write(out.join('\n') + '\n');
}

installSignalHandlers();
main().catch((err: unknown) => {
  process.stderr.write(`carddav-profile: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
