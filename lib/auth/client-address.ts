/**
 * The address a request comes from. Behind a reverse proxy every connection comes from the proxy,
 * so the client is named in `X-Forwarded-For`, which is believed only when the connection comes
 * from a trusted proxy (`--trusted-proxies`). Each proxy appends the address it was connected from,
 * so the list is read from the right: the right-most address that is not a trusted proxy is the
 * client; anything left of it could have been written by the client itself.
 */
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { IPv4, IPv6 } from 'ipaddr.js';
import { requireCjs } from '../../backends/util/require-cjs.js';

/** Not `import`: a CommonJS package (backends/util/require-cjs.ts). */
const ipaddr = requireCjs('ipaddr.js') as typeof import('ipaddr.js');

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

/**
 * What the per-address ceiling, the per-user pacer and the known logins key an address by: an IPv4
 * address as it is (an IPv4-mapped IPv6 address, in any spelling, as its IPv4 address), an IPv6
 * address by its /64 prefix, since a single host or home line is routinely given a whole /64
 * (RFC 6177) and could otherwise take a new address for every guess. ipaddr.js parses every
 * spelling (`::`, an IPv4 tail); a zone id is dropped.
 */
export function addressKey(address: string): string {
  const ip = parsed(address);
  if (!ip) return address;
  if (ip instanceof ipaddr.IPv4) return ip.toString();
  return `${ip.parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`;
}

/**
 * One host's key, for the back-off of a (user, address) pair: the whole address in one spelling
 * (IPv4-mapped as IPv4). Not the /64: a neighbour on the same network (an office's or a hotel's)
 * could otherwise hold a user's own login; the per-prefix ceilings catch a guesser who rotates.
 */
export function hostKey(address: string): string {
  const ip = parsed(address);
  return ip ? ip.toString() : address;
}

function parsed(address: string): IPv4 | IPv6 | null {
  if (isIP(address) === 0) return null;
  // A zone id (`fe80::1%br-1a`: Node names the interface of a link-local peer) is not part of the
  // prefix, and ipaddr.js refuses some that Node accepts.
  const zone = address.indexOf('%');
  let ip: IPv4 | IPv6;
  try {
    ip = ipaddr.parse(zone < 0 ? address : address.slice(0, zone));
  } catch {
    return null;
  }
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress()) ip = ip.toIPv4Address();
  return ip;
}
