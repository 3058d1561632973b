/** A startup failure as one line, for `gitdav serve` and its supervisor (lib/cluster/). */
import type { ServerConfig } from './config.js';

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a file is in the way of a folder',
  EISDIR: 'a folder, not a file',
  EEXIST: 'already exists',
};

/** A startup failure as one line: what could not be done, to what, and the system's code. */
export function describeStartError(err: unknown, config: ServerConfig): string {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string };
  const code = e?.code;
  if (e?.syscall === 'listen' || e?.syscall === 'bind') {
    const where = `port ${config.port} on ${config.host}`;
    if (code === 'EADDRINUSE') return `${where} is in use (EADDRINUSE): stop the other server or choose another --port`;
    if (code === 'EACCES') return `no permission to listen on ${where} (EACCES): ports below 1024 need privileges; choose another --port`;
    if (code === 'EADDRNOTAVAIL') return `cannot listen on ${config.host}: not an address of this machine (EADDRNOTAVAIL)`;
    return `cannot listen on ${where}: ${e.message}`;
  }
  if (e?.syscall === 'getaddrinfo') return `cannot listen on ${config.host}: no such host (${code})`;
  if (code && e.path) {
    const tlsFile = e.path === config.tlsCert ? 'the TLS certificate ' : e.path === config.tlsKey ? 'the TLS key ' : '';
    const verb = e.syscall === 'mkdir' ? 'cannot create' : e.syscall === 'open' && !tlsFile ? 'cannot open' : tlsFile ? 'cannot read' : `cannot ${e.syscall ?? 'use'}`;
    return `${verb} ${tlsFile}${e.path}: ${REASONS[code] ?? e.message} (${code})`;
  }
  // OpenSSL's refusal of a certificate or key that does not parse or match.
  if (typeof code === 'string' && code.startsWith('ERR_OSSL')) return `the TLS certificate or key cannot be used: ${e.message} (${code})`;
  return e instanceof Error ? e.message : String(err);
}
