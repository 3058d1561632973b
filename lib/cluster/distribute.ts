/**
 * The supervisor's listening socket and who gets each connection. The supervisor accepts every
 * connection itself (paused: not a byte is read) and hands it to one ready worker of the current
 * generation, round-robin, over IPC; workers never listen. So the port stays open for the
 * supervisor's whole life: while every worker is down (crashed, being replaced) connections wait in
 * a bounded queue instead of being refused, and a draining worker is simply handed nothing more.
 *
 * The per-address connection limit is counted here, where every connection is seen: a worker
 * reports each of its sockets' close, and a worker's exit closes all it held.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Worker } from 'node:cluster';
import type { Logger } from '../../backends/util/log.js';
import { listenOn } from '../listen-on.js';
import type { ServerConfig } from '../config.js';
import { DEFAULT_CONNECTION_LIMITS } from '../connection-limits.js';

export interface DistributorLimits {
  maxConnectionsPerAddress: number;
  /** Connections held while no worker is ready; more are closed. */
  maxPending: number;
}

export const limitsOf = (config: ServerConfig): DistributorLimits => ({
  maxConnectionsPerAddress: config.limits.maxConnectionsPerAddress ?? DEFAULT_CONNECTION_LIMITS.maxConnectionsPerAddress,
  maxPending: Math.min(1024, config.limits.maxConnections ?? DEFAULT_CONNECTION_LIMITS.maxConnections),
});

export class Distributor {
  private readonly server: Server;
  private targets: Worker[] = [];
  private next = 0;
  /** Waiting for a ready worker; counted under their address like handed ones (one address cannot fill it). */
  private readonly pending: { socket: Socket; address: string }[] = [];
  private readonly perAddress = new Map<string, number>();
  /**
   * Every connection handed to a worker and not yet reported closed, by its id, with the address
   * read at accept: the worker reports a close by id (its own remoteAddress is '' once the client
   * reset), so a count can never leak and lock an address out.
   */
  private readonly live = new Map<number, { workerId: number; address: string }>();
  private closing?: Promise<void>;
  /**
   * Sockets sent to a worker that has not yet said it took them. They are sent with keepOpen: a
   * worker that dies before it takes one (kill -9 while the IPC message was under way) never read
   * from it, so the supervisor's copy goes to another worker; once taken, the copy is closed.
   */
  private readonly unconfirmed = new Map<number, { socket: Socket; workerId: number; address: string }>();
  private seq = 0;

  constructor(
    private limits: DistributorLimits,
    private readonly logger: Logger,
  ) {
    this.server = createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    const bound = await listenOn(this.server, port, host);
    this.server.on('error', (err) => this.logger.error('listening socket failed', { err }));
    return bound;
  }

  setLimits(limits: DistributorLimits): void {
    this.limits = limits;
  }

  /** The workers that get new connections from now on (the ready ones of the current generation). */
  setTargets(workers: Worker[]): void {
    this.targets = workers.filter((w) => w.isConnected());
    this.next = 0;
    while (this.targets.length > 0 && this.pending.length > 0) {
      const { socket, address } = this.pending.shift()!;
      decrement(this.perAddress, address); // counted again as handed
      this.hand(socket);
    }
  }

  /** Open connections now (handed to workers and not yet closed, plus the queue). */
  get open(): number {
    let n = 0;
    for (const count of this.perAddress.values()) n += count;
    return n;
  }

  /** A worker's socket `id` closed. */
  closed(workerId: number, id: number): void {
    const conn = this.live.get(id);
    if (!conn || conn.workerId !== workerId) return;
    this.live.delete(id);
    decrement(this.perAddress, conn.address);
  }

  /** A worker has the socket `id`: the supervisor's copy is closed (the connection stays the worker's). */
  took(id: number): void {
    const sent = this.unconfirmed.get(id);
    if (!sent) return;
    this.unconfirmed.delete(id);
    sent.socket.destroy();
  }

  /** A worker exited: every connection it held is gone; the ones it never took go to another worker. */
  workerGone(workerId: number): void {
    for (const [id, conn] of [...this.live]) if (conn.workerId === workerId) this.closed(workerId, id);
    this.setTargets(this.targets.filter((w) => w.id !== workerId));
    // Its last `took` messages may still be unread: they are read first, so a socket the worker
    // did read from is not handed on (the supervisor's copy is then just closed).
    setImmediate(() => {
      for (const [id, sent] of [...this.unconfirmed]) {
        if (sent.workerId !== workerId) continue;
        this.unconfirmed.delete(id);
        this.requeue(sent.socket);
      }
    });
  }

  private requeue(socket: Socket): void {
    if (socket.destroyed) return;
    if (this.closing) return void socket.destroy();
    if (this.targets.length > 0) this.hand(socket);
    else if (this.pending.length < this.limits.maxPending) this.queue(socket, socket.remoteAddress ?? '');
    else socket.destroy();
  }

  /** Stops accepting (the port is given back) and closes the queued connections. */
  close(): Promise<void> {
    for (const { socket, address } of this.pending.splice(0)) {
      decrement(this.perAddress, address);
      socket.destroy();
    }
    for (const sent of this.unconfirmed.values()) sent.socket.destroy();
    this.unconfirmed.clear();
    this.closing ??= new Promise((resolve) => this.server.close(() => resolve()));
    return this.closing;
  }

  private accept(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    if ((this.perAddress.get(address) ?? 0) >= this.limits.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    if (this.targets.length === 0) {
      if (this.pending.length >= this.limits.maxPending) {
        this.logger.warn('connection refused: no worker ready and the queue is full', { address, queued: this.pending.length });
        socket.destroy();
        return;
      }
      this.queue(socket, address);
      return;
    }
    this.hand(socket);
  }

  private queue(socket: Socket, address: string): void {
    const entry = { socket, address };
    increment(this.perAddress, address);
    this.pending.push(entry);
    // Closed by the client while it waits: its place and its count are given back.
    socket.once('close', () => {
      const at = this.pending.indexOf(entry);
      if (at < 0) return;
      this.pending.splice(at, 1);
      decrement(this.perAddress, address);
    });
  }

  private hand(socket: Socket): void {
    if (socket.destroyed) return;
    const worker = this.targets[this.next++ % this.targets.length]!;
    const address = socket.remoteAddress ?? '';
    increment(this.perAddress, address);
    const id = ++this.seq;
    this.live.set(id, { workerId: worker.id, address });
    this.unconfirmed.set(id, { socket, workerId: worker.id, address });
    worker.send({ gitdav: 'connection', id }, socket, { keepOpen: true }, (err) => {
      if (!err || !this.unconfirmed.has(id)) return;
      // The worker went away as it was handed the socket: another one (or the queue) gets it.
      this.unconfirmed.delete(id);
      this.closed(worker.id, id);
      this.setTargets(this.targets.filter((w) => w !== worker));
      this.requeue(socket);
    });
  }
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function decrement(map: Map<string, number>, key: string): void {
  const left = (map.get(key) ?? 1) - 1;
  if (left <= 0) map.delete(key);
  else map.set(key, left);
}
