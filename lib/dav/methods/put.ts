/**
 * PUT (RFC 9110 §9.3.4, RFC 4918 §9.7): the body streams straight into the backend, hashed on the way
 * (RFC 9530 digests are verified, and the sha-256 is remembered for `Repr-Digest`). With
 * `Content-Range: bytes a-b/total` it is a partial update that resumes an interrupted upload.
 * ownCloud's headers (rclone's owncloud mode, ../owncloud.ts): `OC-Checksum` is verified like a
 * digest (not on a partial update: 400), `X-OC-Mtime` sets the file's time. A whole body sent with
 * either (an ownCloud client, which will ask `oc:checksums`) has its SHA-1 and MD5 recorded as it
 * streams; other PUTs do not pay for them (MD5 alone costs more than sha-256), and their content is
 * hashed on the first ask instead (properties/owncloud.ts, up to 64 MiB).
 */
import { pipeline, Readable } from 'node:stream';
import { parentOf } from '../../../backends/backend.js';
import type { MethodHandler, PutHook } from '../context.js';
import { liveView, writeGuard } from '../conditions.js';
import { DavError, badRequest, conflict } from '../errors/dav-error.js';
import { DigestHeaderError, HashingStream, hexDigest, parseDigestHeader, type DigestAlgorithm, type HashAlgorithm } from '../digest.js';
import { keepMtime, parseOcChecksum, parseOcMtime } from '../owncloud.js';
import { checksumTable, recordKey } from '../../../backends/util/checksum-table.js';
import { locate } from '../../../backends/capabilities.js';
import { parseContentRange } from '../range.js';
import { allowedMethods, sendEmpty } from '../respond.js';

export const put: MethodHandler = async (req) => {
  const { backend } = req;
  // The target and its parent, looked up once: the early check and the hooks reuse them.
  const target = await req.target();
  const existing = target.entry;
  if (req.path === '/' || req.trailingSlash || existing?.kind === 'collection') {
    throw new DavError(405, 'PUT cannot replace or create a collection', { headers: { Allow: allowedMethods(req.dav, existing) } });
  }
  if (req.header('Content-Encoding') && req.header('Content-Encoding') !== 'identity') {
    throw new DavError(415, 'Content-Encoding is not supported on PUT');
  }

  const rawRange = req.header('Content-Range');
  const range = rawRange === undefined ? null : parseContentRange(rawRange);
  if (rawRange !== undefined && !range) throw badRequest(`invalid Content-Range "${rawRange}" (expected bytes first-last/total)`);
  const declared = req.header('Content-Length') === undefined ? undefined : Number(req.header('Content-Length'));
  if (declared !== undefined && !(Number.isSafeInteger(declared) && declared >= 0)) throw badRequest('invalid Content-Length');
  const expected = range ? range.end - range.start + 1 : declared;
  if (range && declared !== undefined && declared !== expected) throw badRequest('Content-Length does not match Content-Range');
  if (range && range.start > (existing?.size ?? 0)) {
    throw new DavError(416, `the upload may resume at byte ${existing?.size ?? 0} at most`, {
      headers: { 'Content-Range': `bytes */${existing?.size ?? 0}` },
    });
  }
  // Digests the client claims (RFC 9530), checked against the body as it streams; a malformed field
  // is refused here, before the body is read. Repr-Digest covers the whole representation, so a
  // partial update cannot check it (its syntax still must hold).
  const claimed = new Map(claimedDigest(req.header('Content-Digest'), 'Content-Digest'));
  const repr = claimedDigest(req.header('Repr-Digest'), 'Repr-Digest');
  if (!range) for (const [a, v] of repr) claimed.set(a, v);
  const ocMtime = parseOcMtime(req.header('X-OC-Mtime'));
  const ocChecksum = parseOcChecksum(req.header('OC-Checksum'));
  if (range && ocChecksum) throw badRequest('OC-Checksum cannot be checked on a partial PUT (Content-Range): it names the whole file; nothing was stored');
  const ocHashes = !range && (ocMtime !== undefined || req.header('OC-Checksum') !== undefined);
  const limit = req.dav.options.limits.maxPutBytes;
  if (limit && (declared ?? 0) > limit) throw new DavError(413, `PUT bodies are limited to ${limit} bytes`);

  // Fail fast, before the client sends (or we read) the body; the guard runs again inside the write.
  const parent = target.parent;
  if (!parent || parent.kind !== 'collection') throw conflict(`the parent collection ${parentOf(req.path)} does not exist`);
  const guard = writeGuard(req, [{ path: req.path, membership: !existing }]);
  await guard(liveView(req));
  let taken: Awaited<ReturnType<PutHook>>;
  for (const hook of req.dav.putHooks) taken ??= await hook(req, { ...target, parent });
  // A hook's reservation (a calendar's UID) is released however the request ends.
  let result;
  let hashing: HashingStream;
  try {
    const buffered = taken?.body;
    if (buffered && range) throw badRequest('Content-Range is not supported here');

    const algorithms = new Set<HashAlgorithm>(['sha-256', ...(ocHashes ? (['sha1', 'md5'] as const) : []), ...claimed.keys()]);
    hashing = new HashingStream([...algorithms], {
      maxBytes: limit || undefined,
      onEnd: (h) => {
        if (!buffered && expected !== undefined && h.bytes !== expected) return badRequest(`the body has ${h.bytes} bytes, ${expected} were declared`);
        for (const [alg, value] of claimed) {
          if (!Buffer.from(h.digests.get(alg)!, 'base64').equals(value)) return badRequest(`the body does not match its ${alg} digest; nothing was stored`);
        }
        if (ocChecksum && hexDigest(h.digests.get(ocChecksum.alg)!) !== ocChecksum.hex) {
          return badRequest(`the body does not match its OC-Checksum (${ocChecksum.alg.toUpperCase()}); nothing was stored`);
        }
        return undefined;
      },
    });
    const body = pipeline(buffered ? Readable.from([buffered]) : req.bodyStream(), hashing, () => {});

    const length = buffered ? buffered.length : expected;
    result = await backend.write(req.path, body, { guard, offset: range?.start, length, actor: req.actor(), summary: taken?.summary, modified: ocMtime });
  } catch (err) {
    await taken?.done?.(false);
    throw err;
  }
  await taken?.done?.(true);
  if (!range) req.dav.digests.set(result.entry.etag, 'sha-256', hashing.digests.get('sha-256')!);
  if (ocHashes) {
    const hashes = { sha1: hexDigest(hashing.digests.get('sha1')!), md5: hexDigest(hashing.digests.get('md5')!) };
    const id = recordKey(result.entry);
    if (id !== null) await checksumTable(locate(backend, req.path).stateDir).record(id, hashes).catch(() => undefined);
  }
  const timeKept = ocMtime && (result.modifiedKept || (await keepMtime(req, result.entry, ocMtime, { actor: req.actor() })));
  sendEmpty(req.ctx, result.created ? 201 : 204, {
    ETag: result.entry.etag,
    'Last-Modified': result.entry.modified.toUTCString(),
    ...(timeKept && { 'X-OC-MTime': 'accepted' }),
  });
};

function claimedDigest(header: string | undefined, name: string): Map<DigestAlgorithm, Buffer> {
  try {
    return header === undefined ? new Map() : parseDigestHeader(header, name);
  } catch (err) {
    if (err instanceof DigestHeaderError) throw badRequest(err.message);
    throw err;
  }
}
