/**
 * Plain HTTP sent to the HTTPS port gets a readable 400, as nginx answers it ("The plain HTTP request
 * was sent to HTTPS port"), instead of a connection closed without a word.
 *
 * The TLS server's own connection listener (Node's `tlsConnectionListener`, which wraps the socket
 * in TLS at once) is taken off and called only once the first byte has arrived: 0x16 opens a TLS
 * handshake and goes on to TLS as before, an ASCII letter starts an HTTP request line and is answered
 * in plain text. The listener stays on the one server, so accepting, maxConnections, the per-address
 * count, connection tracking and certificate reload are all unchanged. No such listener (another
 * Node): TLS as before, without the answer.
 */
import type { Server as TlsServer } from 'node:https';
import type { Socket } from 'node:net';

const TLS_HANDSHAKE = 0x16;

export const PLAIN_HTTP_BODY = 'The plain HTTP request was sent to HTTPS port\n';

export function answerPlainHttp(server: TlsServer, firstByteTimeoutMs: number): void {
  const tlsListener = server.listeners('connection').find((l) => l.name === 'tlsConnectionListener') as ((socket: Socket) => void) | undefined;
  if (!tlsListener) return;
  server.off('connection', tlsListener);
  server.prependListener('connection', (socket: Socket) => {
    // A client that connects and says nothing is cut as a silent TLS client would be by the header timer.
    socket.setTimeout(firstByteTimeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(chunk);
      const first = chunk[0]!;
      const isLetter = (first >= 0x41 && first <= 0x5a) || (first >= 0x61 && first <= 0x7a);
      if (first === TLS_HANDSHAKE || !isLetter) tlsListener.call(server, socket);
      else refuse(socket);
    });
  });
}

function refuse(socket: Socket): void {
  socket.end(
    'HTTP/1.1 400 Bad Request\r\nServer: gitdav\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(PLAIN_HTTP_BODY)}\r\nConnection: close\r\n\r\n${PLAIN_HTTP_BODY}`,
  );
  // The rest of the request is read and dropped (closing on unread data could reset the answer away),
  // for a second at most.
  socket.resume();
  setTimeout(() => socket.destroy(), 1000).unref();
}
