/**
 * HTTP-date (RFC 9110 §5.6.7) → epoch seconds, or null for anything that is not one (a conditional
 * with an invalid date is ignored, §13.1.3). All three forms are GMT, whatever the server's zone.
 */
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

const IMF_FIXDATE = /^[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850 = /^[A-Za-z]+, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME = /^[A-Za-z]{3} ([A-Za-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

export function parseHttpDate(value: string): number | null {
  const s = value.trim();
  let m: RegExpExecArray | null;
  if ((m = IMF_FIXDATE.exec(s))) return build(+m[3]!, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  if ((m = RFC850.exec(s))) {
    // Two-digit years: the RFC says to read one more than 50 years ahead as the past century.
    const yy = +m[3]!;
    const nowYear = new Date().getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + yy;
    if (year > nowYear + 50) year -= 100;
    return build(year, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  }
  if ((m = ASCTIME.exec(s))) return build(+m[6]!, m[1]!, +m[2]!.trim(), +m[3]!, +m[4]!, +m[5]!);
  return null;
}

function build(year: number, mon: string, day: number, h: number, min: number, sec: number): number | null {
  const month = MONTHS.indexOf(mon.toLowerCase());
  if (month < 0 || day < 1 || day > 31 || h > 23 || min > 59 || sec > 60) return null;
  const t = Date.UTC(year, month, day, h, min, sec);
  if (new Date(t).getUTCDate() !== day) return null; // 31 Feb and friends
  return Math.floor(t / 1000);
}
