/**
 * One unfolded content line, `group.NAME;PARAM=a,"b:c";X=y:value` (RFC 6350 §3.3, RFC 2426 §4),
 * read in a single left-to-right scan so a line of any length or with thousands of parameters costs
 * linear time. Lenient where real exporters are: `_` in names (Outlook, Evolution X- names), a bare
 * 3.0 TYPE value (`TEL;WORK;VOICE:` ≡ `TYPE=WORK,VOICE`), and a parameter without a value.
 */
import { CardPreconditionError } from './errors.js';
import type { CardParam, CardProperty } from './types.js';

const invalid = (message: string) => new CardPreconditionError('valid-address-data', message);

/** name chars: ALPHA / DIGIT / "-" (RFC 6350 §3.3), and "_" which exporters use in X- names. */
function isNameChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
}

/** The length of the name starting at `i`. */
function nameEnd(line: string, i: number): number {
  while (i < line.length && isNameChar(line.charCodeAt(i))) i++;
  return i;
}

const snippet = (line: string) => (line.length > 40 ? `${line.slice(0, 40)}…` : line);

export function contentLine(line: string, at: number): CardProperty {
  let end = nameEnd(line, 0);
  if (end === 0) throw notContent(line, at);
  let group: string | undefined;
  let name = line.slice(0, end);
  if (line[end] === '.') {
    group = name;
    const start = end + 1;
    end = nameEnd(line, start);
    if (end === start) throw notContent(line, at);
    name = line.slice(start, end);
  }
  const params: CardParam[] = [];
  let i = end;
  while (line[i] === ';') {
    const start = i + 1;
    const stop = nameEnd(line, start);
    if (stop === start) throw invalid(`line ${at}: a parameter without a name: ${snippet(line)}`);
    const pname = line.slice(start, stop).toUpperCase();
    i = stop;
    if (line[i] !== '=') {
      // 3.0 (and 2.1 habit kept by exporters): a bare value is a TYPE.
      params.push({ name: 'TYPE', values: [line.slice(start, stop)] });
      continue;
    }
    i++;
    const values: string[] = [];
    for (;;) {
      if (line[i] === '"') {
        const close = line.indexOf('"', i + 1);
        if (close < 0) throw invalid(`line ${at}: an unclosed quote in parameter ${pname}`);
        values.push(line.slice(i + 1, close));
        i = close + 1;
      } else {
        const from = i;
        for (let c = line.charCodeAt(i); i < line.length && c !== 0x3b && c !== 0x3a && c !== 0x2c; c = line.charCodeAt(++i));
        values.push(line.slice(from, i));
      }
      if (line[i] !== ',') break;
      i++;
    }
    params.push({ name: pname, values });
  }
  if (line[i] !== ':') throw notContent(line, at);
  return { group, name: name.toUpperCase(), params, value: unescapeValue(line.slice(i + 1)), raw: line };
}

/** Most often a continuation line that lost its leading space (broken folding). */
function notContent(line: string, at: number): CardPreconditionError {
  return invalid(`line ${at} is not a content line (NAME:value; a folded line must start with a space): ${snippet(line)}`);
}

/** `\,` `\;` `\\` `\n` `\N` (RFC 6350 §3.4); any other backslash is kept as written. One scan, no callbacks. */
export function unescapeValue(v: string): string {
  let at = v.indexOf('\\');
  if (at < 0) return v;
  let out = '';
  let from = 0;
  while (at >= 0 && at + 1 < v.length) {
    const c = v[at + 1];
    if (c === '\\' || c === ',' || c === ';' || c === 'n' || c === 'N') {
      out += v.slice(from, at) + (c === 'n' || c === 'N' ? '\n' : c);
      from = at + 2;
      at = v.indexOf('\\', from);
    } else at = v.indexOf('\\', at + 1);
  }
  return out + v.slice(from);
}
