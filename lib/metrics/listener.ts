/**
 * The metrics listener (`--metrics-port`): a port of its own, so statistics never share the DAV
 * port's logins, limits or exposure. GET (or HEAD) /metrics answers the text; anything else 404.
 * What it serves is a function, so a supervisor can serve its workers' metrics added up
 * (prom-client's AggregatorRegistry.clusterMetrics) through the same listener.
 */
import { createServer, type Server } from 'node:http';
import { listenOn } from '../listen-on.js';

export interface MetricsSource {
  contentType: string;
  text(): Promise<string>;
}

export interface MetricsListener {
  server: Server;
  /** http://HOST:PORT/metrics */
  url: string;
  close(): Promise<void>;
}

export async function listenMetrics(host: string, port: number, source: MetricsSource): Promise<MetricsListener> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('not found: the metrics are at GET /metrics\n');
      return;
    }
    source.text().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': source.contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`metrics could not be collected: ${(err as Error).message}\n`);
      },
    );
  });
  // A scraper keeps its connection open; idle ones must not hold up a shutdown.
  server.keepAliveTimeout = 5_000;
  const bound = await listenOn(server, port, host);
  return {
    server,
    url: `http://${bound.host}:${bound.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A metrics listener that could not start, as one line (the main port's wording, in cli-serve.ts). */
export function describeMetricsListenError(err: unknown, host: string, port: number): string {
  const e = err as NodeJS.ErrnoException;
  const where = `metrics port ${port} on ${host}`;
  if (e?.code === 'EADDRINUSE') return `${where} is in use (EADDRINUSE): stop the other program or choose another --metrics-port`;
  if (e?.code === 'EACCES') return `no permission to listen on ${where} (EACCES): ports below 1024 need privileges; choose another --metrics-port`;
  if (e?.code === 'EADDRNOTAVAIL') return `cannot listen on ${host} for metrics: not an address of this machine (EADDRNOTAVAIL)`;
  if (e?.syscall === 'getaddrinfo') return `cannot listen on ${host} for metrics: no such host (${e.code})`;
  return `cannot listen on ${where}: ${e instanceof Error ? e.message : String(err)}`;
}
