/**
 * `gitdav reload [--root DIR]`: finds the supervisor of DIR by its registration
 * (`<stateDir>/supervisor.json`, registration.ts), sends it SIGHUP and waits for the outcome it
 * writes there: exit 0 once the new workers serve, 1 (with the reason) when the reload was refused.
 */
import { resolve } from 'node:path';
import { promises as fsp } from 'node:fs';
import { liveness } from '../flight/registration.js';
import { parseRootAndTimeout, stateDirsOf } from '../flight/dump-command.js';
import { readRegistration, SUPERVISOR_FILE, type SupervisorRegistration } from './registration.js';

export const RELOAD_USAGE = 'usage: gitdav reload [--root DIR] [--timeout-ms N]';

export async function runReload(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${RELOAD_USAGE}\n\nAsks the server of DIR (gitdav serve --workers N, N > 1) to read its configuration and TLS files\nagain and replace its workers without dropping a connection (as SIGHUP to it does); waits until\nthe new workers serve (exit 0) or the reload is refused (exit 1, with the reason).\n`);
    return 0;
  }
  const parsed = parseRootAndTimeout(args, RELOAD_USAGE, 600_000);
  if (typeof parsed === 'number') return parsed;
  const { root, timeoutMs } = parsed;
  const stateDirs = await stateDirsOf(resolve(root));
  let found: { dir: string; registration: SupervisorRegistration } | undefined;
  for (const dir of stateDirs) {
    const registration = await readRegistration(dir);
    if (!registration) continue;
    const owner = (await fsp.stat(resolve(dir, SUPERVISOR_FILE)).catch(() => null))?.uid;
    if ((await liveness(registration, owner)) === 'live') found = { dir, registration };
  }
  if (!found) {
    process.stderr.write(`gitdav: no running gitdav supervisor found for ${resolve(root)} (looked for ${SUPERVISOR_FILE} in ${stateDirs.join(', ')}); a one-process server (--workers 1) reads its TLS files again on SIGHUP\n`);
    return 1;
  }
  // An outcome answers this command's SIGHUP if that reload read the configuration after a SIGHUP
  // later than every one seen here (not another command's reload that was under way).
  const before = found.registration.signals ?? 0;
  process.kill(found.registration.pid, 'SIGHUP');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await readRegistration(found.dir);
    if (!now || now.pid !== found.registration.pid) {
      process.stderr.write('gitdav: the server stopped during the reload\n');
      return 1;
    }
    if (now.last && (now.last.answers ?? 0) > before) {
      if (now.last.ok) {
        process.stdout.write(`gitdav: reloaded (generation ${now.last.generation}, ${now.last.workers} workers)\n`);
        return 0;
      }
      process.stderr.write(`gitdav: reload refused, the running workers keep serving: ${now.last.reason}\n`);
      return 1;
    }
  }
  process.stderr.write(`gitdav: no answer to the reload within ${timeoutMs} ms\n`);
  return 1;
}
