/**
 * vCard 3.0 ↔ 4.0 for address-data (RFC 6352 §10.4 version=): Apple Contacts reads 3.0 only,
 * Thunderbird writes 4.0, so a stored card is served in the version asked. The mappings are those
 * sabre/vobject's VCardConverter applies and clients rely on:
 * - inline binaries: 3.0 `PHOTO;ENCODING=b;TYPE=JPEG:…` ↔ 4.0 `PHOTO:data:image/jpeg;base64,…`
 *   (also LOGO, SOUND, KEY); a 3.0 URI needs VALUE=uri;
 * - groups: 4.0 `KIND:group` + `MEMBER` ↔ Apple's `X-ADDRESSBOOKSERVER-KIND` + `-MEMBER`;
 *   `KIND:org` ↔ `X-ABSHOWAS:COMPANY`;
 * - preference: 4.0 `PREF=1` ↔ 3.0 `TYPE=PREF` (3.0 has no ranks: PREF=2… are dropped);
 * - dates without a year: 4.0 `--MMDD` ↔ Apple's `1604-MM-DD;X-APPLE-OMIT-YEAR=1604`;
 *   4.0 `ANNIVERSARY` ↔ Apple's `itemN.X-ABDATE` labelled `_$!<Anniversary>!$_`;
 * - 4.0 `TEL;VALUE=uri:tel:+1…` → 3.0 `TEL:+1…`; a quoted TYPE list `TYPE="voice,cell"` is split;
 * - 3.0 requires N: a 4.0 card without one gets `N:<FN>;;;;` so 3.0 readers show its name.
 * Everything else is copied (parameters re-written in the 3.0/4.0 `NAME=value` form). What cannot be
 * said in the other version (a data: URI that is not base64) is a supported-address-data-conversion.
 */
import { CardPreconditionError } from './errors.js';
import { unescapeValue } from './content-line.js';
import type { CardParam, CardProperty, ParsedCard, VCardVersion } from './types.js';
import { escapeText, head, rawHead, rawValue } from './write.js';

const BINARY: Record<string, string> = { PHOTO: 'image', LOGO: 'image', SOUND: 'audio', KEY: 'application' };
const ANNIVERSARY_LABEL = '_$!<Anniversary>!$_';
const OMIT_YEAR = 'X-APPLE-OMIT-YEAR';

function make(group: string | undefined, name: string, params: CardParam[], raw: string): CardProperty {
  return { group, name, params, value: unescapeValue(raw), raw: head(group, name, params) + raw };
}

/** `p` as stored when nothing changes and its line already reads `NAME;P=v:` (not 3.0's bare `TEL;WORK:`). */
function same(p: CardProperty, params: CardParam[], raw: string): CardProperty {
  return params === p.params && rawHead(p).toUpperCase() === head(p.group, p.name, p.params).toUpperCase() ? p : make(p.group, p.name, params, raw);
}

const without = (params: CardParam[], ...names: string[]) => params.filter((p) => !names.includes(p.name));
const param = (p: CardProperty, name: string) => p.params.find((x) => x.name === name)?.values[0];

/** The card's properties as they read in `to` (VERSION included, first). */
export function convertCard(card: ParsedCard, to: VCardVersion): CardProperty[] {
  const version = make(undefined, 'VERSION', [], to);
  const rest = card.properties.filter((p) => p.name !== 'VERSION');
  if (card.version === to) return [version, ...rest];
  return [version, ...(to === '4.0' ? to40(rest) : to30(rest))];
}

function to40(props: CardProperty[]): CardProperty[] {
  const out: CardProperty[] = [];
  const anniversaryGroups = new Set(props.filter((p) => p.group && p.name === 'X-ABLABEL' && p.value === ANNIVERSARY_LABEL).map((p) => p.group));
  const hasKind = props.some((p) => p.name === 'KIND' || p.name === 'X-ADDRESSBOOKSERVER-KIND');
  for (const p of props) {
    const params = prefTo40(p.params);
    const raw = rawValue(p);
    if (p.group && anniversaryGroups.has(p.group)) {
      if (p.name === 'X-ABDATE') out.push(make(undefined, 'ANNIVERSARY', dateParamsTo40(params), dateTo40(p, raw)));
      else if (p.name !== 'X-ABLABEL') out.push(same(p, params, raw));
      continue;
    }
    const encoding = param(p, 'ENCODING')?.toLowerCase();
    if (BINARY[p.name] && (encoding === 'b' || encoding === 'base64')) {
      const type = param(p, 'TYPE');
      const media = type ? (type.includes('/') ? type : `${BINARY[p.name]}/${type}`).toLowerCase() : 'application/octet-stream';
      out.push(make(p.group, p.name, without(params, 'ENCODING', 'TYPE'), `data:${media};base64,${raw}`));
    } else if (p.name === 'X-ADDRESSBOOKSERVER-KIND') out.push(make(p.group, 'KIND', params, raw.toLowerCase()));
    else if (p.name === 'X-ADDRESSBOOKSERVER-MEMBER') out.push(make(p.group, 'MEMBER', params, raw));
    else if (p.name === 'X-ABSHOWAS' && p.value.toUpperCase() === 'COMPANY' && !hasKind) out.push(make(p.group, 'KIND', params, 'org'));
    else if (p.name === 'BDAY' || p.name === 'ANNIVERSARY') out.push(make(p.group, p.name, dateParamsTo40(params), dateTo40(p, raw)));
    else out.push(same(p, params, raw));
  }
  return out;
}

function to30(props: CardProperty[]): CardProperty[] {
  const out: CardProperty[] = [];
  let item = 1 + props.reduce((n, p) => Math.max(n, Number(/^item(\d+)$/i.exec(p.group ?? '')?.[1] ?? 0)), 0);
  for (const p of props) {
    const params = typesTo30(prefTo30(p.params));
    const raw = rawValue(p);
    const data = BINARY[p.name] ? /^data:([^,;]*)((?:;[^,;]*)*),(.*)$/is.exec(raw) : null;
    if (data) {
      if (!/;base64$/i.test(data[2])) throw new CardPreconditionError('supported-address-data-conversion', `${p.name} is a data: URI that is not base64: vCard 3.0 cannot hold it`);
      const sub = data[1].split('/')[1]?.toUpperCase();
      out.push(make(p.group, p.name, [...without(params, 'MEDIATYPE', 'VALUE'), { name: 'ENCODING', values: ['b'] }, ...(sub ? [{ name: 'TYPE', values: [sub] }] : [])], data[3]));
    } else if (BINARY[p.name] && !param(p, 'VALUE')) out.push(make(p.group, p.name, [...params, { name: 'VALUE', values: ['uri'] }], raw));
    else if (p.name === 'KIND') {
      const kind = p.value.trim().toLowerCase();
      if (kind === 'org') out.push(make(p.group, 'X-ABSHOWAS', params, 'COMPANY'));
      else if (kind !== 'individual') out.push(make(p.group, 'X-ADDRESSBOOKSERVER-KIND', params, kind));
    } else if (p.name === 'TEL' && /^uri$/i.test(param(p, 'VALUE') ?? '') && /^tel:/i.test(raw)) {
      out.push(make(p.group, p.name, without(params, 'VALUE'), raw.slice(4)));
    } else if (p.name === 'MEMBER') out.push(make(p.group, 'X-ADDRESSBOOKSERVER-MEMBER', params, raw));
    else if (p.name === 'ANNIVERSARY') {
      const group = p.group ?? `item${item++}`;
      out.push(make(group, 'X-ABDATE', dateParamsTo30(p, params), dateTo30(raw)));
      out.push(make(group, 'X-ABLABEL', [], ANNIVERSARY_LABEL));
    } else if (p.name === 'BDAY') out.push(make(p.group, p.name, dateParamsTo30(p, params), dateTo30(raw)));
    else out.push(same(p, params, raw));
  }
  const fn = props.find((p) => p.name === 'FN');
  if (!props.some((p) => p.name === 'N') && fn) out.splice(0, 0, make(undefined, 'N', [], `${escapeText(fn.value)};;;;`));
  return out;
}

/** 3.0 `TYPE=…,PREF` (any case, any TYPE parameter) → 4.0 `PREF=1`. */
function prefTo40(params: CardParam[]): CardParam[] {
  let pref = false;
  const out: CardParam[] = [];
  for (const p of params) {
    if (p.name !== 'TYPE') out.push(p);
    else {
      const values = p.values.filter((v) => v.toUpperCase() !== 'PREF');
      if (values.length !== p.values.length) pref = true;
      if (values.length) out.push({ name: 'TYPE', values });
    }
  }
  if (!pref) return params;
  return out.some((p) => p.name === 'PREF') ? out : [...out, { name: 'PREF', values: ['1'] }];
}

/** 4.0's quoted list `TYPE="voice,cell"` → 3.0's `TYPE=voice,cell` (3.0 readers do not split quoted values). */
function typesTo30(params: CardParam[]): CardParam[] {
  if (!params.some((p) => p.name === 'TYPE' && p.values.some((v) => v.includes(',')))) return params;
  return params.map((p) => (p.name === 'TYPE' ? { name: 'TYPE', values: p.values.flatMap((v) => v.split(',')) } : p));
}

/** 4.0 `PREF=1` → 3.0 `TYPE=PREF`; other ranks have no 3.0 form. */
function prefTo30(params: CardParam[]): CardParam[] {
  const pref = params.find((p) => p.name === 'PREF');
  if (!pref) return params;
  const out = without(params, 'PREF');
  if (pref.values[0]?.trim() !== '1') return out;
  const type = out.findIndex((p) => p.name === 'TYPE');
  if (type < 0) return [...out, { name: 'TYPE', values: ['PREF'] }];
  out[type] = { name: 'TYPE', values: [...out[type].values, 'PREF'] };
  return out;
}

/** Apple's year-less date: `1604-04-12;X-APPLE-OMIT-YEAR=1604` → `--0412`. */
function dateTo40(p: CardProperty, raw: string): string {
  const omit = param(p, OMIT_YEAR);
  const m = omit ? /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(raw.trim()) : null;
  return m && m[1] === omit ? `--${m[2]}${m[3]}` : raw;
}
const dateParamsTo40 = (params: CardParam[]) => without(params, OMIT_YEAR);

/** `--0412` / `--04-12` → `1604-04-12` (with X-APPLE-OMIT-YEAR=1604, dateParamsTo30). */
function dateTo30(raw: string): string {
  const m = /^--(\d{2})-?(\d{2})$/.exec(raw.trim());
  return m ? `1604-${m[1]}-${m[2]}` : raw;
}
function dateParamsTo30(p: CardProperty, params: CardParam[]): CardParam[] {
  return /^--\d{2}-?\d{2}$/.test(rawValue(p).trim()) ? [...without(params, OMIT_YEAR), { name: OMIT_YEAR, values: ['1604'] }] : params;
}
