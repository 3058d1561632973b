import type { MethodHandler } from '../../dav/context.js';
import { createCollection } from '../../dav/create-collection.js';
import { DavError } from '../../dav/errors/dav-error.js';
import { Resource } from '../../dav/properties/registry.js';
import { hasType } from '../../dav/resource-types.js';
import { el } from '../../dav/xml/write.js';
import { dav, NS } from '../../dav/xml/names.js';
import { baseName, parentOf } from '../../../backends/backend.js';
import { CALENDAR, cal } from '../context.js';
import { parseTimezone } from '../ical/index.js';
import { textOf } from '../../dav/xml/parse.js';
import { quotedTitle } from '../put-hook.js';

/**
 * MKCALENDAR (RFC 4791 §5.3.1): a calendar collection with its initial properties, in one step. Not
 * inside another calendar (calendar-collection-location-ok).
 */
export const mkcalendar: MethodHandler = async (req) => {
  const parent = await req.backend.stat(parentOf(req.path));
  if (parent && (await hasType(new Resource(req, parent), CALENDAR))) {
    throw new DavError(403, 'a calendar cannot be created inside another calendar', { condition: el(cal('calendar-collection-location-ok')) });
  }
  await createCollection(req, {
    body: await req.readXml(),
    bodyRoot: { ns: NS.CALDAV, local: 'mkcalendar' },
    responseName: cal('mkcalendar-response'),
    types: [CALENDAR],
    // calendar-timezone must be a VCALENDAR with one VTIMEZONE (RFC 4791 §5.2.2).
    check: (props) => {
      const tz = props.get(cal('calendar-timezone'));
      return new Map(tz && !parseTimezone(textOf(tz)) ? [[cal('calendar-timezone'), cal('valid-calendar-data')]] : []);
    },
    summary: (props) => {
      const name = props.get(dav('displayname'));
      return `Create calendar ${quotedTitle((name && textOf(name).trim()) || baseName(req.path))}`;
    },
  });
};
