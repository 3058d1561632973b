import type { MethodHandler } from '../context.js';
import { DavError, badRequest } from '../errors/dav-error.js';
import { Resource } from '../properties/registry.js';
import { requireEntry } from '../respond.js';
import { clarkOf } from '../xml/parse.js';
import { el } from '../xml/write.js';
import { dav } from '../xml/names.js';

/** REPORT (RFC 3253 §3.6): dispatched to the registered report named by the body's root element. */
export const report: MethodHandler = async (req) => {
  const body = await req.readXml();
  if (!body) throw badRequest('REPORT needs a body');
  const target = new Resource(req, await requireEntry(req));
  const handler = req.dav.reports.get(clarkOf(body));
  if (!handler || !(await handler.supportedOn(target))) {
    throw new DavError(403, `the report ${clarkOf(body)} is not supported here`, { condition: el(dav('supported-report')) });
  }
  await handler.run(req, body, target);
};
