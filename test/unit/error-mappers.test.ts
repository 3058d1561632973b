import assert from 'node:assert/strict';
import { DavError } from '../../lib/dav/errors/dav-error.js';
import { toDavError, type ErrorMapper } from '../../lib/dav/errors/render.js';
import { serializeFragment } from '../../lib/dav/xml/write.js';
import { BackendError } from '../../backends/errors.js';
import { calDavErrors } from '../../lib/caldav/errors.js';
import { CalendarPreconditionError, CalendarQueryError } from '../../lib/caldav/ical/index.js';
import { StepBudgetExceeded } from '../../lib/caldav/ical/budget.js';

class Teapot extends Error {}
const teapots: ErrorMapper = (err) => (err instanceof Teapot ? new DavError(418, 'short and stout') : undefined);
const never: ErrorMapper = () => undefined;

/** The rendered condition element, or '' when there is none. */
const condition = (e: DavError) => (e.condition ? serializeFragment(e.condition) : '');

describe('one error path: toDavError consults the mount’s error mappers', () => {
  it('maps an error a registered mapper knows (the first that answers)', () => {
    const err = new Teapot('brew');
    const mapped = toDavError(err, [never, teapots]);
    assert.equal(mapped.status, 418);
    assert.equal(toDavError(err, [teapots, () => new DavError(400, 'later')]).status, 418);
    assert.equal(toDavError(err).status, 500, 'without the mapper it is an internal error');
  });

  it('leaves DAV and backend errors to the core mapping, whatever the mappers say', () => {
    const grabAll: ErrorMapper = () => new DavError(418, 'mine');
    const dav = new DavError(409, 'conflict');
    assert.equal(toDavError(dav, [grabAll]), dav);
    assert.equal(toDavError(new BackendError('NotFound', '/x'), [grabAll]).status, 404);
  });

  it('falls back to an error’s own HTTP status, then to 500, when no mapper knows it', () => {
    assert.equal(toDavError(Object.assign(new Error('aborted'), { status: 400 }), [never]).status, 400);
    assert.equal(toDavError(new Error('boom'), [never]).status, 500);
  });
});

describe('CalDAV’s error mapper (RFC 4791 preconditions)', () => {
  it('renders a calendar precondition as 403 with the CALDAV element', () => {
    const e = calDavErrors(new CalendarPreconditionError('valid-calendar-data', 'bad'))!;
    assert.equal(e.status, 403);
    assert.equal(e.message, 'bad');
    assert.match(condition(e), /valid-calendar-data/);
    assert.match(condition(e), /urn:ietf:params:xml:ns:caldav/);
  });

  it('renders no-uid-conflict as 409', () => {
    assert.equal(calDavErrors(new CalendarPreconditionError('no-uid-conflict', 'taken'))!.status, 409);
  });

  it('renders a query error with its own status, and its condition when it has one', () => {
    const withCondition = calDavErrors(new CalendarQueryError(403, 'supported-filter', 'too many'))!;
    assert.equal(withCondition.status, 403);
    assert.match(condition(withCondition), /supported-filter/);
    const bare = calDavErrors(new CalendarQueryError(400, null, 'start after end'))!;
    assert.equal(bare.status, 400);
    assert.equal(bare.condition, undefined);
  });

  it('renders a spent step budget as 507 number-of-matches-within-limits, naming the limit', () => {
    const e = calDavErrors(new StepBudgetExceeded(1000))!;
    assert.equal(e.status, 507);
    assert.match(e.message, /maxCalendarSteps/);
    assert.match(condition(e), /number-of-matches-within-limits/);
  });

  it('knows nothing else', () => {
    assert.equal(calDavErrors(new Error('x')), undefined);
    assert.equal(calDavErrors(new DavError(400, 'x')), undefined);
  });
});
