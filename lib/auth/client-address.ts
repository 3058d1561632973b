/**
 * The address a request comes from. Behind a reverse proxy every connection comes from the proxy,
 * so the client is named in `X-Forwarded-For`, which is believed only when the connection comes
 * from a trusted proxy (`--trusted-proxies`). Each proxy appends the address it was connected from,
 * so the list is read from the right: the right-most address that is not a trusted proxy is the
 * client; anything left of it could have been written by the client itself.
 */
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

export function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export function clientAddress(req: IncomingMessage, trusted: ReadonlySet<string>): string {
  let address = normaliseAddress(req.socket.remoteAddress ?? 'unknown');
  if (trusted.size === 0 || !trusted.has(address)) return address;
  const header = req.headers['x-forwarded-for'];
  if (!header) return address;
  const hops = (Array.isArray(header) ? header.join(',') : header).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normaliseAddress(hops[i]!.trim());
    // A malformed entry ends what can be believed: the last trusted hop stands for the client.
    if (isIP(hop) === 0) return address;
    address = hop;
    if (!trusted.has(hop)) return hop;
  }
  return address;
}
