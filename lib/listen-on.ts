/** Binds a Node server and says where it listens: the one place the main and metrics listeners share. */
import type { AddressInfo, Server } from 'node:net';

/** Listens on `host:port` (port 0: any free one); resolves with the address as a URL's host part. */
export async function listenOn(server: Server, port: number, host: string): Promise<{ host: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return { host: addr.family === 'IPv6' ? `[${addr.address}]` : addr.address, port: addr.port };
}
