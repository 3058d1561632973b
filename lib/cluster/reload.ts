/**
 * What a reload may change, checked in the supervisor before any new worker is started: the
 * configuration is read again (command line, environment, config file) and must load, pass the
 * checks `gitdav serve` makes at start, keep what only a restart can change, and name TLS files
 * that can be read and used. Anything else is refused with the reason, and the running workers
 * keep serving.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { requireCjs } from '../../backends/util/require-cjs.js';
import { loadConfig, type ServerConfig } from '../config.js';
import { checkRoot, refusalOf } from '../serve-checks.js';
import { describeStartError } from '../start-errors.js';

/** Options a running supervisor cannot change: its root and backend, its ports. */
const FIXED: (keyof ServerConfig)[] = ['root', 'backend', 'host', 'port', 'metricsPort', 'metricsHost', 'proxyUserHeader'];

export type ReloadCheck = { config: ServerConfig } | { reason: string };

export async function checkReload(args: string[], env: NodeJS.ProcessEnv, running: ServerConfig): Promise<ReloadCheck> {
  let config: ServerConfig;
  try {
    config = loadConfig(args, env);
  } catch (err) {
    return { reason: (err as Error).message };
  }
  const refused = refusalOf(config) ?? (await checkRoot(config.root));
  if (refused) return { reason: refused };
  const same = (key: keyof ServerConfig) => (key === 'root' ? resolve(config.root) === resolve(running.root) : config[key] === running[key]);
  const changed = FIXED.filter((key) => !same(key));
  if (changed.length > 0) {
    return { reason: `${changed.join(', ')} cannot change on a reload (was ${changed.map((k) => JSON.stringify(running[k])).join(', ')}, now ${changed.map((k) => JSON.stringify(config[k])).join(', ')}): restart the server for that` };
  }
  const tlsProblem = checkTls(config);
  if (tlsProblem) return { reason: tlsProblem };
  return { config };
}

/** Why the configured certificate and key cannot be used (unreadable, not PEM, not a pair), or undefined. */
export function checkTls(config: ServerConfig): string | undefined {
  if (!config.tlsCert || !config.tlsKey) return undefined;
  try {
    // node:tls only when there is TLS to check: the supervisor of a plain-HTTP server does not load it.
    (requireCjs('node:tls') as typeof import('node:tls')).createSecureContext({ cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) });
    return undefined;
  } catch (err) {
    return describeStartError(err, config);
  }
}
