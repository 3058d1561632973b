/**
 * The `If:` request header (RFC 4918 §10.4), parsed into lists of conditions. Pure: evaluation against
 * resource state lives in conditions.ts.
 *
 *   If = 1*No-tag-list | 1*Tagged-list ;  Tagged-list = Resource-Tag 1*List ;  List = "(" 1*Condition ")"
 *   Condition = ["Not"] (State-token | "[" entity-tag "]") ;  State-token = Coded-URL = "<" URI ">"
 */
export interface IfCondition {
  not: boolean;
  /** `token`: a state token (lock token or any URI); `etag`: an entity tag, quotes included. */
  kind: 'token' | 'etag';
  value: string;
}

export interface IfList {
  /** The resource tag as written (absolute URL or path), or undefined for a no-tag list. */
  tag?: string;
  conditions: IfCondition[];
}

export class IfHeaderSyntaxError extends Error {
  override name = 'IfHeaderSyntaxError';
}

export function parseIfHeader(header: string): IfList[] {
  const lists: IfList[] = [];
  let i = 0;
  let tag: string | undefined;
  const fail = (what: string): never => {
    throw new IfHeaderSyntaxError(`If header: ${what} at offset ${i}`);
  };
  const skipSpace = () => {
    while (i < header.length && /[ \t\r\n]/.test(header[i]!)) i++;
  };
  const readUntil = (close: string): string => {
    const end = header.indexOf(close, i);
    if (end < 0) fail(`missing "${close}"`);
    const s = header.slice(i, end);
    i = end + 1;
    return s;
  };

  skipSpace();
  if (i >= header.length) fail('empty header');
  while (i < header.length) {
    const c = header[i];
    if (c === '<') {
      if (lists.length > 0 && tag === undefined) fail('no-tag and tagged lists cannot be mixed');
      i++;
      tag = readUntil('>').trim();
      if (!tag) fail('empty resource tag');
      skipSpace();
      if (header[i] !== '(') fail('a resource tag must be followed by a list');
    } else if (c === '(') {
      i++;
      const conditions: IfCondition[] = [];
      for (;;) {
        skipSpace();
        if (header[i] === ')') {
          i++;
          break;
        }
        let not = false;
        if (header.slice(i, i + 3).toLowerCase() === 'not') {
          not = true;
          i += 3;
          skipSpace();
        }
        if (header[i] === '<') {
          i++;
          const token = readUntil('>').trim();
          if (!token) fail('empty state token');
          conditions.push({ not, kind: 'token', value: token });
        } else if (header[i] === '[') {
          i++;
          const etag = readEtag();
          conditions.push({ not, kind: 'etag', value: etag });
        } else {
          fail(i >= header.length ? 'unterminated list' : `unexpected "${header[i]}"`);
        }
      }
      if (conditions.length === 0) fail('empty list');
      lists.push({ tag, conditions });
    } else {
      fail(`unexpected "${c}"`);
    }
    skipSpace();
  }
  return lists;

  function readEtag(): string {
    skipSpace();
    const start = i;
    if (header.startsWith('W/', i)) i += 2;
    if (header[i] !== '"') fail('an entity tag must be quoted');
    const close = header.indexOf('"', i + 1);
    if (close < 0) fail('unterminated entity tag');
    i = close + 1;
    const etag = header.slice(start, i);
    skipSpace();
    if (header[i] !== ']') fail('missing "]"');
    i++;
    return etag;
  }
}

/** Every state token the header names, in any list (RFC 4918 §6.5: naming a token submits it). */
export function submittedTokens(lists: IfList[]): Set<string> {
  const tokens = new Set<string>();
  for (const l of lists) for (const c of l.conditions) if (c.kind === 'token') tokens.add(c.value);
  return tokens;
}
