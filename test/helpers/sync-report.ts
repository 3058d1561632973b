/** An RFC 6578 sync-collection REPORT sent raw, its multistatus read back (test/protocol/sync-collection, test/git-folder-etag). */
import { parseXml, elements, textOf } from '../../lib/dav/xml/parse.js';
import { raw } from './server.js';

export interface SyncResult {
  status: number;
  token: string;
  changed: Map<string, string>; // href → etag
  removed: string[];
  truncated: boolean;
  text: string;
}

/** The sync-collection body: from `token` ('' for the first sync), asking getetag. */
export function syncCollectionBody(token: string, limit?: number): string {
  const nresults = limit ? `<D:limit><D:nresults>${limit}</D:nresults></D:limit>` : '';
  return `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>${token}</D:sync-token><D:sync-level>1</D:sync-level>${nresults}<D:prop><D:getetag/></D:prop></D:sync-collection>`;
}

/** `headers`: more request headers (a login). */
export async function syncReport(url: string, path: string, token: string, opts: { limit?: number; depth?: string; headers?: Record<string, string> } = {}): Promise<SyncResult> {
  const body = syncCollectionBody(token, opts.limit);
  const r = await raw(url, path, { method: 'REPORT', body, headers: { ...opts.headers, ...(opts.depth ? { Depth: opts.depth } : {}) } });
  const out: SyncResult = { status: r.status, token: '', changed: new Map(), removed: [], truncated: false, text: r.text };
  if (r.status !== 207) return out;
  for (const node of elements(parseXml(r.text))) {
    if (node.local === 'sync-token') out.token = textOf(node);
    if (node.local !== 'response') continue;
    const href = textOf(elements(node).find((e) => e.local === 'href')!);
    const status = elements(node).find((e) => e.local === 'status');
    if (status && /404/.test(textOf(status))) out.removed.push(href);
    else if (status && /507/.test(textOf(status))) out.truncated = true;
    else out.changed.set(href, /<D:getetag>([^<]*)</.exec(r.text.slice(r.text.indexOf(`<D:href>${href}</D:href>`)))?.[1] ?? '');
  }
  return out;
}
