/** Calendars, events and cards the calendar page tests put on a fresh server (dates relative to now, so the agenda always has them). */
import assert from 'node:assert/strict';
import { raw, type TestServer } from '../helpers/server.js';

export const HTML = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const DAY = 86_400_000;
const BERLIN = ['BEGIN:VTIMEZONE', 'TZID:Europe/Berlin', 'BEGIN:DAYLIGHT', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0200', 'TZNAME:CEST', 'DTSTART:19700329T020000', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'END:DAYLIGHT', 'BEGIN:STANDARD', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'TZNAME:CET', 'DTSTART:19701025T030000', 'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU', 'END:STANDARD', 'END:VTIMEZONE'].join('\r\n');

/** `20261207T090000Z` for an instant. */
export const icalUtc = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
const icalDate = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');

export function vevent(uid: string, summary: string, lines: string[]): string {
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//gitdav tests//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', `SUMMARY:${summary}`, ...lines, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

export function vcard(uid: string, fn: string, email: string, tel: string): string {
  return ['BEGIN:VCARD', 'VERSION:3.0', `UID:${uid}`, `FN:${fn}`, 'N:;;;;', `EMAIL;TYPE=INTERNET:${email}`, `TEL;TYPE=CELL:${tel}`, 'END:VCARD', ''].join('\r\n');
}

/** Whole hours: a weekly series started five weeks ago, at this hour of the day. */
export const hourNow = () => Math.floor(Date.now() / 3_600_000) * 3_600_000;

export interface Seeded {
  /** Start of each weekly occurrence in the next 30 days (ISO). */
  weeklyAhead: string[];
  weeklyPast: string[];
}

/**
 * In `user`'s home (auth headers `who`): the default calendar with a hostile summary, a weekly series,
 * a past event and an all-day event; a second calendar "Work" with colour and description and two
 * events in one time zone; two cards (one hostile) in the default address book.
 */
export async function seed(s: TestServer, user: string, who: Record<string, string> = {}): Promise<Seeded> {
  const put = async (path: string, body: string, type: string) => {
    const r = await raw(s.url, path, { method: 'PUT', body, headers: { ...who, 'Content-Type': type } });
    assert.equal(r.status, 201, `${path}: ${r.text}`);
  };
  const cal = `/calendars/${user}/calendar`;
  const now = hourNow();
  const weeklyStart = now - 5 * 7 * DAY + 3_600_000; // an hour past this hour, five weeks back
  await put(`${cal}/hostile.ics`, vevent('hostile', '<script>alert(1)</script> & "quotes"', [`DTSTART:${icalUtc(now + 2 * DAY)}`, 'DURATION:PT1H', 'LOCATION:<b>Room</b>']), 'text/calendar');
  await put(`${cal}/weekly.ics`, vevent('weekly', 'Weekly sync', [`DTSTART:${icalUtc(weeklyStart)}`, 'DURATION:PT30M', 'RRULE:FREQ=WEEKLY']), 'text/calendar');
  await put(`${cal}/past.ics`, vevent('past', 'Old meeting', [`DTSTART:${icalUtc(now - 10 * DAY)}`, 'DURATION:PT1H']), 'text/calendar');
  await put(`${cal}/allday.ics`, vevent('allday', 'Holiday', [`DTSTART;VALUE=DATE:${icalDate(now + 3 * DAY)}`, `DTEND;VALUE=DATE:${icalDate(now + 4 * DAY)}`]), 'text/calendar');
  const mk = await raw(s.url, `/calendars/${user}/work/`, {
    method: 'MKCALENDAR',
    headers: { ...who, 'Content-Type': 'application/xml' },
    body: '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="http://apple.com/ns/ical/"><D:set><D:prop><D:displayname>Work &lt;team&gt;</D:displayname><A:calendar-color>#D32F2FFF</A:calendar-color><C:calendar-description>Meetings &amp; deadlines</C:calendar-description></D:prop></D:set></C:mkcalendar>',
  });
  assert.equal(mk.status, 201, mk.text);
  // Two events in one zone: the export carries its VTIMEZONE once.
  const berlin = (uid: string, summary: string, at: number) => vevent(uid, summary, [`DTSTART;TZID=Europe/Berlin:${icalUtc(at).slice(0, 15)}`, 'DURATION:PT1H']).replace('BEGIN:VEVENT', `${BERLIN}\r\nBEGIN:VEVENT`);
  await put(`/calendars/${user}/work/review.ics`, berlin('review', 'Design review', now + 5 * DAY), 'text/calendar');
  await put(`/calendars/${user}/work/retro.ics`, berlin('retro', 'Retro', now + 6 * DAY), 'text/calendar');
  await put(`/addressbooks/${user}/contacts/ada.vcf`, vcard('ada', 'Ada Lovelace', 'ada@example.org', '+44 20 7946 0000'), 'text/vcard');
  await put(`/addressbooks/${user}/contacts/evil.vcf`, vcard('evil', '<img src=x onerror=alert(1)>', 'evil@example.org', '+1 555 0100'), 'text/vcard');
  const weeklyAhead: string[] = [];
  const weeklyPast: string[] = [];
  for (let t = weeklyStart; t < now + 30 * DAY; t += 7 * DAY) (t + 30 * 60_000 > now ? weeklyAhead : weeklyPast).push(new Date(t).toISOString());
  return { weeklyAhead, weeklyPast };
}
