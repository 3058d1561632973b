/**
 * A socket the supervisor hands a worker skips Node's http accept path, which is where TCP_NODELAY
 * is set: the worker must set it itself, or a response written in two pieces waits for the client's
 * delayed ACK (~40 ms on Linux) on every small request. Checked on the call, not by timing.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { serveHanded } from '../../lib/cluster/worker.js';
import { createLogger } from '../../backends/util/log.js';

describe('cluster worker: handed sockets', () => {
  it('sets TCP_NODELAY on each socket before the http server reads from it', async () => {
    // The supervisor's own net server: pauseOnConnect, Nagle left on (net's default).
    const listener = createServer({ pauseOnConnect: true });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const http = createHttpServer((_req, res) => res.end('ok'));
    const handed = serveHanded({ server: http } as never, createLogger('error'));
    const accepted = once(listener, 'connection') as Promise<[Socket]>;
    const { port } = listener.address() as { port: number };
    const client = connect(port, '127.0.0.1');
    const [socket] = await accepted;
    const calls: unknown[][] = [];
    const original = socket.setNoDelay.bind(socket);
    socket.setNoDelay = (...args: [boolean?]) => {
      calls.push(args);
      return original(...args);
    };
    try {
      handed.add(socket, 1);
      assert.equal(calls.length, 1);
      assert.notEqual(calls[0]![0], false);
      client.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const chunks: Buffer[] = [];
      client.on('data', (c: Buffer) => chunks.push(c));
      await once(client, 'end');
      assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 200 /);
    } finally {
      client.destroy();
      socket.destroy();
      handed.drain(true, 0);
      listener.close();
    }
    await handed.settled();
  });
});
