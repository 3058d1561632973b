/** Starts the real server on a loopback port over a fresh temp folder; raw HTTP for edge cases. */
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBackend } from '../../backends/fs/index.js';
import { GitBackend } from '../../backends/git/index.js';
import { createApp, listen, type RunningServer } from '../../lib/server.js';
import type { DavOptions } from '../../lib/dav/context.js';
import type { CalDavOptions } from '../../lib/caldav/index.js';

export interface TestServer {
  url: string;
  root: string;
  running: RunningServer;
  close(): Promise<void>;
}

export type BackendName = 'fs' | 'git';

/** Plain WebDAV unless `caldav` is asked for (CalDAV adds principals and calendars at start). */
export async function startTestServer(options: { root?: string; backend?: BackendName; dav?: Partial<DavOptions>; caldav?: Partial<CalDavOptions> | true } = {}): Promise<TestServer> {
  const root = options.root ?? (await mkdtemp(join(tmpdir(), 'gitdav-test-')));
  const backend = options.backend === 'git' ? await GitBackend.open({ root }) : await FsBackend.open({ root });
  const app = await createApp({ backend, dav: options.dav, caldav: options.caldav === true ? {} : options.caldav ?? false });
  const running = await listen(app, '127.0.0.1', 0);
  return {
    url: running.url,
    root,
    running,
    async close() {
      await running.close(1000);
      if (!options.root) await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
}

const agent = new Agent({ keepAlive: false });

/** One HTTP request with exactly the method, path and headers given (no client magic). */
export function raw(base: string, path: string, req: RawRequest = {}): Promise<RawResponse> {
  const url = new URL(base);
  // Node frames bodies of DELETE/OPTIONS/GET neither by length nor chunked: always say the length.
  const headers: Record<string, string | number> = { ...req.headers };
  const framed = Object.keys(headers).some((h) => /^(content-length|transfer-encoding)$/i.test(h));
  if (req.body !== undefined && !framed) headers['Content-Length'] = Buffer.byteLength(req.body);
  return new Promise((resolve, reject) => {
    const r = httpRequest(
      { host: url.hostname, port: url.port, path, method: req.method ?? 'GET', headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

export const XML = { 'Content-Type': 'application/xml; charset=utf-8' };

export function propfindBody(...props: string[]): string {
  return `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>${props.map((p) => `<D:${p}/>`).join('')}</D:prop></D:propfind>`;
}

export function lockBody(scope: 'exclusive' | 'shared' = 'exclusive', owner = 'tester'): string {
  return `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:${scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>${owner}</D:href></D:owner></D:lockinfo>`;
}
