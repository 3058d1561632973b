/**
 * Connection-level limits of the HTTP(S) server: header size and time, idle time, a minimum rate
 * for request bodies, and how many connections one client address may hold. A slow-loris client
 * (headers or a body dribbled in) ties up at most its own address's share and is cut by the header
 * timer, the body rate or the idle timer; everybody else keeps being served. When all
 * `maxConnections` are open, a new connection takes the place of the one idle longest (one that
 * never finished a request head, or a keep-alive one between requests), so clients spread over
 * many addresses cannot shut out a client that sends its request at once; only when every
 * connection has a request under way is a new one refused.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
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
  /**
   * A request body must arrive within this long, ms, plus one second for every `minBodyRate` bytes
   * received (Apache's mod_reqtimeout `body=20,MinRate=500`); time the server itself makes the client
   * wait (reading slowly, or not yet) does not count. 0 turns the check off.
   */
  bodyTimeoutMs: number;
  /** Bytes a second that extend `bodyTimeoutMs`. */
  minBodyRate: number;
  /** Open connections one client address may hold; more are closed at once. */
  maxConnectionsPerAddress: number;
  /** Open connections in all; past it the one idle longest is closed for a new one. */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 20_000,
  idleTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5_000,
  bodyTimeoutMs: 20_000,
  minBodyRate: 500,
  maxConnectionsPerAddress: 64,
  maxConnections: 2048,
};

/** Applies the limits to a server that is not listening yet. */
export function applyConnectionLimits(server: Server, limits: ConnectionLimits): void {
  server.requestTimeout = 0; // large uploads take as long as they take; idle sockets are cut instead
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.setTimeout(limits.idleTimeoutMs);
  // Not server.maxConnections: Node would drop every new connection at the limit, idle ones kept.
  if (limits.bodyTimeoutMs > 0) watchBodies(server, limits);
  const perAddress = new Map<string, number>();
  const all = new ConnectionTable(limits.maxConnections);
  // TLS servers report the raw TCP connection as 'connection' too: counted once, before the handshake.
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const open = (perAddress.get(address) ?? 0) + 1;
    if (open > limits.maxConnectionsPerAddress || !all.admit(socket)) {
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
  const busy = (req: IncomingMessage, res: ServerResponse) => all.busy(req, res);
  server.on('request', busy);
  server.on('checkContinue', busy);
}

/**
 * Every open connection, and which of them are idle (no request under way), least recently active
 * first. Connections are known by their peer's address and port: a TLS request's socket is not the
 * TCP socket that was counted, but has the same peer.
 */
class ConnectionTable {
  private readonly open = new Map<string, { socket: Socket; requests: number }>();
  private readonly idle = new Map<string, Socket>();

  constructor(private readonly max: number) {}

  /** Counts a new connection, closing the one idle longest if all are taken; false if none is idle. */
  admit(socket: Socket): boolean {
    if (this.open.size >= this.max) {
      const oldest = this.idle.entries().next();
      if (oldest.done) return false;
      const [key, victim] = oldest.value;
      this.forget(key, victim);
      victim.destroy();
    }
    const key = peerOf(socket);
    this.open.set(key, { socket, requests: 0 });
    this.idle.set(key, socket);
    socket.once('close', () => this.forget(key, socket));
    return true;
  }

  /** A request under way on the connection: not idle until its response is done. */
  busy(req: IncomingMessage, res: ServerResponse): void {
    const key = peerOf(req.socket);
    const entry = this.open.get(key);
    if (!entry) return;
    entry.requests++;
    this.idle.delete(key);
    res.once('close', () => {
      if (this.open.get(key) !== entry || --entry.requests > 0) return;
      this.idle.set(key, entry.socket); // at the end: idle since now
    });
  }

  private forget(key: string, socket: Socket): void {
    if (this.open.get(key)?.socket !== socket) return;
    this.open.delete(key);
    this.idle.delete(key);
  }
}

const peerOf = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`;

/** A request whose body is still arriving. */
interface Upload {
  req: IncomingMessage;
  res: ServerResponse;
  /** socket.bytesRead when the request's head had arrived. */
  startBytes: number;
  /** Milliseconds the client has had to send its body, counting only time we were reading. */
  waited: number;
}

const TICK_MS = 1000;

/**
 * Cuts request bodies that arrive slower than the limits allow. One timer per server, not per request:
 * every tick, each unfinished body whose reader is waiting for data (it has started reading, nothing
 * is buffered) is charged the tick; a body the server is not reading yet, or is holding back (data
 * buffered behind a slow disk or a commit), is not the client's fault and is not charged.
 */
function watchBodies(server: Server, limits: ConnectionLimits): void {
  const uploads = new Set<Upload>();
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    for (const u of uploads) {
      const { req, res } = u;
      // Watched until the body is in: a server that answered early still reads (and discards) the
      // rest, and a client must not dribble that either.
      if (req.complete || req.destroyed) {
        uploads.delete(u);
        continue;
      }
      // Not read yet (null), or data already waiting for a reader that is busy: the server's delay.
      if (req.readableFlowing === null || req.readableLength > 0) continue;
      u.waited += TICK_MS;
      const received = Math.max(0, req.socket.bytesRead - u.startBytes);
      const earned = limits.minBodyRate > 0 ? (received / limits.minBodyRate) * 1000 : 0;
      if (u.waited > limits.bodyTimeoutMs + earned) {
        uploads.delete(u);
        // The body's reader must fail (a PUT's pipeline then removes its temp file and closes its
        // file): destroying the request does that and closes the connection. A 408 goes first where
        // nothing was answered yet.
        const cut = () => req.destroy(new Error('request body too slow'));
        if (!res.headersSent) {
          res.writeHead(408, { Connection: 'close', 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('request body too slow\n', cut);
          setTimeout(cut, 1000).unref(); // a client that does not read its answer either
        } else {
          cut();
        }
      }
    }
    if (uploads.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  const watch = (req: IncomingMessage, res: ServerResponse) => {
    const length = Number(req.headers['content-length'] ?? 0);
    if (!(length > 0) && req.headers['transfer-encoding'] === undefined) return;
    uploads.add({ req, res, startBytes: req.socket.bytesRead, waited: 0 });
    timer ??= setInterval(tick, TICK_MS).unref();
  };
  server.on('request', watch);
  // `Expect: 100-continue` requests come this way instead; their clock starts when the handler
  // reads the body (after it answered 100 Continue), as the client rightly waits before that.
  server.on('checkContinue', watch);
  server.on('close', () => {
    if (timer) clearInterval(timer);
    uploads.clear();
  });
}
