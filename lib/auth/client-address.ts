/**
 * The address a request comes from. Behind a reverse proxy every connection comes from the proxy,
 * so the client is named in `X-Forwarded-For`, which is believed only when the connection comes
 * from a trusted proxy (`--trusted-proxies`). Each proxy appends the address it was connected from,
 * so the list is read from the right: the right-most address that is not a trusted proxy is the
 * client; anything left of it could have been written by the client itself.
 */
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';

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
 * What the login back-offs key an address by: an IPv4 address as it is (an IPv4-mapped IPv6
 * address, in any spelling, as its IPv4 address), an IPv6 address by its /64 prefix, since a single
 * host or home line is routinely given a whole /64 (RFC 6177) and could otherwise take a new
 * address for every guess. ipaddr.js parses every spelling (`::`, an IPv4 tail, a zone id).
 */
export function addressKey(address: string): string {
  if (isIP(address) === 0) return address;
  let ip: ipaddr.IPv4 | ipaddr.IPv6 = ipaddr.parse(address);
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress()) ip = ip.toIPv4Address();
  if (ip instanceof ipaddr.IPv4) return ip.toString();
  return `${ip.parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`;
}
