/** What `gitdav serve` refuses before anything is bound or opened (at start, and again at a reload). */
import { resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { isLoopback, type ServerConfig } from './config.js';
import { isMultiUser } from './auth/users-file.js';

/** Why this configuration must not be served as it stands (exit 2), or undefined. */
export function refusalOf(config: ServerConfig): string | undefined {
  const multiUser = isMultiUser(config.root) || !!config.proxyUserHeader;
  const tls = !!config.tlsCert;
  if (!isLoopback(config.host) && !config.insecure && !(multiUser && tls)) {
    const missing = [multiUser ? '' : 'users (gitdav user add)', tls ? '' : 'TLS (--tls-cert, --tls-key)'].filter(Boolean).join(' and ');
    return `refusing to listen on ${config.host} without ${missing}; pass --insecure to serve the network like this anyway`;
  }
  // The metrics listener has no login and no TLS at all: off the loopback only when asked for twice.
  if (config.metricsPort !== undefined && !isLoopback(config.metricsHost) && !config.insecure) {
    return `refusing to serve metrics on ${config.metricsHost}: the metrics listener has no login and no TLS; pass --insecure to serve them there anyway`;
  }
  return undefined;
}

/** What is wrong with the root before anything is bound or created: a file in its place. */
export async function checkRoot(root: string): Promise<string | undefined> {
  const found = await stat(root).catch(() => undefined);
  if (found && !found.isDirectory()) return `${resolve(root)} is a file, not a folder: --root names the folder to serve`;
  return undefined;
}
