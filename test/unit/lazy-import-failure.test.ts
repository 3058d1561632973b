/**
 * A lazily imported package that cannot be loaded (a damaged or half-upgraded install): the calendar
 * pool answers `unavailable` (the query runs on the event loop, never a failed request) and tries
 * again next time; a password check fails with a message that says what to do.
 */
import assert from 'node:assert/strict';
import { CalendarPool } from '../../lib/caldav/bounds-pool.js';
import { PasswordChecker } from '../../lib/auth/password-checker.js';

const missing = () => Promise.reject(new Error("Cannot find package 'piscina' imported from somewhere"));
const EVENT = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', 'UID:a', 'DTSTAMP:20240101T000000Z', 'DTSTART:20240312T100000Z', 'DTEND:20240312T110000Z', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

describe('a lazily imported package that cannot be loaded', function () {
  this.timeout(30_000);

  it('the calendar pool answers unavailable, and loads piscina at a later task once it can', async () => {
    let attempts = 0;
    const pool = new CalendarPool(1, undefined, () => (++attempts === 1 ? missing() : import('piscina')));
    try {
      assert.deepEqual(await pool.bounds({ text: EVENT, maxSteps: 1_000_000 }), { kind: 'unavailable' });
      assert.equal((await pool.bounds({ text: EVENT, maxSteps: 1_000_000 })).kind, 'bounds');
      assert.equal(attempts, 2);
    } finally {
      await pool.close();
    }
  });

  it('a password check fails saying to reinstall, and leaves nothing pending', async () => {
    const checker = new PasswordChecker({ threads: 1, queue: 1 }, missing);
    await assert.rejects(checker.verify('secret', '$2a$04$abcdefghijklmnopqrstuu5Cd0s7rFYQ3L0c8kHC3Z7F3wMZo1k8y'), /piscina.*could not be loaded.*reinstall gitdav's dependencies/);
    assert.equal(checker.pending, 0);
    await checker.close();
  });
});
