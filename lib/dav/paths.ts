/**
 * Request paths: decoded once, normalised, and refused when they could name anything outside the
 * served tree (`..`, NUL, encoded separators). Pure.
 */
export class BadPathError extends Error {
  override name = 'BadPathError';
  constructor(
    message: string,
    readonly status: 400 | 403 = 400,
  ) {
    super(message);
  }
}

export interface ParsedPath {
  /** Normalised: `/` or `/a/b`, decoded, no trailing slash. */
  path: string;
  /** The request named a collection (`/a/`). */
  trailingSlash: boolean;
}

/** Splits a raw (still percent-encoded) URL path into a normalised path. */
export function parsePath(raw: string): ParsedPath {
  if (!raw.startsWith('/')) throw new BadPathError('the path must be absolute');
  const segments: string[] = [];
  // Without a '%' nothing decodes: no decodeURIComponent per segment (a multiget resolves hundreds).
  const encoded = raw.includes('%');
  for (const seg of raw.split('/')) {
    if (seg === '') continue;
    let decoded: string;
    try {
      decoded = encoded ? decodeURIComponent(seg) : seg;
    } catch {
      throw new BadPathError(`malformed percent-encoding in "${seg}"`);
    }
    if (decoded.includes('\0')) throw new BadPathError('NUL in path');
    if (decoded.includes('/') || decoded.includes('\\') && seg !== decoded) {
      throw new BadPathError('encoded path separator in path', 403);
    }
    if (decoded === '.' || decoded === '..') throw new BadPathError('dot segments are not allowed', 403);
    segments.push(decoded);
  }
  return { path: '/' + segments.join('/'), trailingSlash: raw.length > 1 && raw.endsWith('/') };
}

/** Percent-encodes a path for an href; collections get a trailing slash. */
export function encodePath(path: string, collection = false): string {
  const encoded = path.split('/').map(encodeSegment).join('/');
  return collection && !encoded.endsWith('/') ? encoded + '/' : encoded;
}

/** One path segment as encodePath writes it. */
export function encodeSegment(s: string): string {
  const e = encodeURIComponent(s);
  // Most names need no escape at all: skip the eight replaces for them.
  if (!e.includes('%')) return e;
  return e.replace(/%3A/gi, ':').replace(/%40/g, '@').replace(/%2C/gi, ',').replace(/%3D/gi, '=').replace(/%2B/gi, '+').replace(/%24/g, '$').replace(/%26/g, '&').replace(/%3B/gi, ';');
}

/** An absolute path (not `//`) of characters the URL parser keeps as they are in a path. */
const PLAIN_PATH = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
/** A `.` or `..` segment, also percent-encoded: the URL parser resolves those. */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e)(?:\.|%2e)?(?:\/|$)/i;

/**
 * Whether `new URL(href, base).pathname` is `href` itself for any http(s) base: an absolute path with
 * no query, fragment or authority, nothing the parser escapes or rewrites, no dot segment it
 * resolves. A multiget's hundreds of hrefs are such paths, and skip the parser.
 */
export function keptByUrlParser(href: string): boolean {
  return PLAIN_PATH.test(href) && !DOT_SEGMENT.test(href);
}
