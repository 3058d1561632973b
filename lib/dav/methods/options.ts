import type { MethodHandler } from '../context.js';
import { allowedMethods, findEntry, sendEmpty } from '../respond.js';

/** OPTIONS (RFC 4918 §9.1, §18): compliance classes and the methods this resource allows. */
export const options: MethodHandler = async (req) => {
  const entry = await findEntry(req);
  sendEmpty(req.ctx, 200, {
    DAV: req.dav.compliance.join(', '),
    'MS-Author-Via': 'DAV',
    Allow: allowedMethods(req.dav, entry),
    ...(entry?.kind === 'file' ? { 'Accept-Ranges': 'bytes' } : {}),
  });
};
