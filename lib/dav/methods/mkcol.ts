import type { MethodHandler } from '../context.js';
import { DavError } from '../errors/dav-error.js';
import { createCollection } from '../create-collection.js';
import { NS, dav } from '../xml/names.js';
import { is } from '../xml/parse.js';

/**
 * MKCOL (RFC 4918 §9.3), and extended MKCOL (RFC 5689): an XML `DAV:mkcol` body sets the new
 * collection's properties, its resource type included (e.g. a CalDAV calendar). Other bodies: 415.
 */
export const mkcol: MethodHandler = async (req) => {
  const type = req.header('Content-Type') ?? '';
  if (req.hasBody() && !/^(application|text)\/xml\b/i.test(type)) throw new DavError(415, 'MKCOL takes no body, or an extended-MKCOL XML body');
  const body = await req.readXml();
  if (body && !is(body, NS.DAV, 'mkcol')) throw new DavError(415, 'an extended MKCOL body must be a DAV:mkcol element');
  await createCollection(req, {
    body,
    bodyRoot: { ns: NS.DAV, local: 'mkcol' },
    responseName: dav('mkcol-response'),
    types: [],
  });
};
