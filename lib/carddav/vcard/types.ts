/**
 * The vCard layer's types: what the server reads out of a stored card (ParsedCard), what an
 * addressbook-query asks (CardFilter, RFC 6352 §10.5), and what address-data asks (§10.4). The XML
 * of a REPORT is turned into these by lib/carddav/reports; everything here is pure.
 */
import type { Collation } from '../../caldav/ical/collation.js';

export type VCardVersion = '3.0' | '4.0';

export interface CardParam {
  /** Upper-cased name (`TYPE`, `PREF`, `X-ABLABEL`). */
  name: string;
  /** Values as written, unquoted, split on unquoted commas. */
  values: string[];
}

export interface CardProperty {
  /** The group prefix as written (`item1` of `item1.EMAIL`), if any. */
  group?: string;
  /** Upper-cased name without the group (`EMAIL`, `X-ADDRESSBOOKSERVER-KIND`). */
  name: string;
  params: CardParam[];
  /** The value unescaped (`\,` → `,`, `\n` → newline): what text-match compares (RFC 6352 §10.5.4). */
  value: string;
  /** The content line as stored, unfolded, without its line break: what address-data copies. */
  raw: string;
}

export interface ParsedCard {
  version: VCardVersion;
  uid: string;
  /** FN, unescaped (required by 3.0 and 4.0). */
  fn: string;
  /** `group` for a group card (4.0 KIND:group, or Apple's X-ADDRESSBOOKSERVER-KIND:group), else `individual`, `org`, … */
  kind: string;
  /** Every property between BEGIN and END (BEGIN/END themselves excluded), in stored order. */
  properties: CardProperty[];
}

export type MatchType = 'equals' | 'contains' | 'starts-with' | 'ends-with';

/** The filter model is read-only: parseCardFilter freezes it, and compiled filters are kept per object (filter.ts). */
export interface TextMatch {
  readonly text: string;
  /** RFC 6352 §8.3: i;unicode-casemap (the default) and i;ascii-casemap, plus i;octet. */
  readonly collation: Collation;
  readonly negate: boolean;
  readonly matchType: MatchType;
}

export interface ParamFilter {
  readonly name: string;
  readonly isNotDefined: boolean;
  readonly textMatch?: TextMatch;
}

export interface PropFilter {
  /** Upper-cased property name; matched against every instance of it, grouped or not. */
  readonly name: string;
  readonly test: 'anyof' | 'allof';
  readonly isNotDefined: boolean;
  readonly textMatches: readonly TextMatch[];
  readonly paramFilters: readonly ParamFilter[];
}

export interface CardFilter {
  readonly test: 'anyof' | 'allof';
  /** None: every card matches (RFC 6352 §10.5, an empty filter). */
  readonly propFilters: readonly PropFilter[];
}

/** What CARDDAV:address-data asks for (RFC 6352 §10.4). */
export interface AddressDataRequest {
  /** The version asked for; none: the card as stored. */
  version?: VCardVersion;
  /** Only these properties (BEGIN, END, VERSION, UID always come); none: the whole card. */
  props?: Array<{ name: string; noValue: boolean }>;
}
