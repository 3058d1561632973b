/**
 * Whether a gitdav process is using a state dir now, read without changing anything, so that
 * `gitdav reindex` refuses to delete files a running server holds in memory and writes back.
 *
 * A git repository has no exclusive server lock (several servers, `gitdav restore` and native git may
 * share one), so the signs are those every process leaves while it runs:
 * - its own temp folder `tmp/p<pid>-<start>-<boot>-<ns>` (backends/util/process-temp.ts), made by
 *   every open of a backend and removed at close: judged exactly by pid and start time;
 * - its flight-recorder registration `flight/<pid>.pid` (lib/flight/registration.ts);
 * - a supervisor's `supervisor.json` (lib/cluster/registration.ts);
 * - the folder backend's `server.pid` (backends/fs/folder-lock.ts), which reindex also takes itself.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { readLockText } from '../../backends/util/lock-file.js';
import { holderName, holderOfName, judge, parseHolder, self } from '../../backends/util/process-identity.js';
import { liveness, type Registration } from '../flight/registration.js';
import { readRegistration, SUPERVISOR_FILE } from '../cluster/registration.js';

/** What shows a live process in `stateDir`, one line each (empty: nobody). */
export async function usersOf(stateDir: string): Promise<string[]> {
  const found: string[] = [];
  const own = holderName(self());
  for (const name of await fsp.readdir(join(stateDir, 'tmp')).catch(() => [] as string[])) {
    if (name === own) continue;
    const h = holderOfName(name);
    if (!h) continue;
    const state = judge(h);
    if (state === 'alive') found.push(`process ${h.pid} (its temp folder ${join(stateDir, 'tmp', name)})`);
    else if (state === 'elsewhere') found.push(`process ${h.pid} of another pid namespace (another container?) (its temp folder ${join(stateDir, 'tmp', name)}; remove it if no gitdav runs there)`);
  }
  const flight = join(stateDir, 'flight');
  for (const name of await fsp.readdir(flight).catch(() => [] as string[])) {
    const m = /^(\d+)\.pid$/.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    const r = await readJson<Registration>(join(flight, name));
    if (r && r.pid === Number(m[1]) && (await liveness(r)) !== 'gone') found.push(`process ${r.pid} (registered in ${join(flight, name)})`);
  }
  const sup = await readRegistration(stateDir);
  if (sup && (await liveness(sup)) !== 'gone') found.push(`supervisor ${sup.pid} (${join(stateDir, SUPERVISOR_FILE)})`);
  const pidFile = join(stateDir, 'server.pid');
  const raw = await readLockText(pidFile).catch(() => null);
  const h = raw === null ? null : parseHolder(raw);
  if (h && h.pid !== process.pid && judge(h) !== 'stale') found.push(`process ${h.pid} (${pidFile})`);
  return [...new Set(found)];
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}
