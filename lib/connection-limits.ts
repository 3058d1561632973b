/**
 * Connection-level limits of the HTTP(S) server: header size and time, idle time, and how many
 * connections one client address may hold. A slow-loris client (headers or a body dribbled in)
 * ties up at most its own address's share and is cut by the header and idle timers; everybody
 * else keeps being served.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** Largest request head (request line + headers), bytes. */
  maxHeaderBytes: number;
  /** Time a client has to send the whole request head, ms. */
  headersTimeoutMs: number;
  /** A connection with no traffic either way for this long is closed, ms (also mid-body). */
  idleTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long, ms. */
  keepAliveTimeoutMs: number;
  /** Open connections one client address may hold; more are closed at once. */
  maxConnectionsPerAddress: number;
  /** Open connections in all. */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 20_000,
  idleTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5_000,
  maxConnectionsPerAddress: 64,
  maxConnections: 2048,
};

/** Applies the limits to a server that is not listening yet. */
export function applyConnectionLimits(server: Server, limits: ConnectionLimits): void {
  server.requestTimeout = 0; // large uploads take as long as they take; idle sockets are cut instead
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.setTimeout(limits.idleTimeoutMs);
  server.maxConnections = limits.maxConnections;
  const perAddress = new Map<string, number>();
  // TLS servers report the raw TCP connection as 'connection' too: counted once, before the handshake.
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const open = (perAddress.get(address) ?? 0) + 1;
    if (open > limits.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    perAddress.set(address, open);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
  });
}
