/**
 * fixtures/contacts/: vCards shaped like real clients' exports (one folder per source) and the
 * addressbook-query filters over them with their expected answers (queries.json; README.md there).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_DIR } from './fixtures.js';

export const CONTACTS_DIR = join(FIXTURES_DIR, 'contacts');

/** Folders that are not a source of good cards (bad input, parser edge cases). */
const NOT_SOURCES = new Set(['bad', 'edge']);

export interface ContactFixture {
  /** Path below fixtures/contacts/, e.g. `apple/family.vcf`. */
  readonly name: string;
  /** The client or service the card imitates: its folder. */
  readonly source: string;
  /** The file's bytes, as a client would PUT them. */
  readonly bytes: Buffer;
}

export interface ContactQueryFixture {
  readonly name: string;
  /** A complete CARDDAV:filter element as XML text. */
  readonly filter: string;
  /** CARDDAV:limit nresults, if any. */
  readonly limit?: number;
  /** Every matching fixture name, sorted (with a limit: the set the answer is drawn from). */
  readonly expect: readonly string[];
  /** The CARDDAV precondition a 403 names instead of an answer. */
  readonly error?: 'supported-filter' | 'supported-collation';
}

/** Every .vcf under fixtures/contacts/<source>/ (not bad/ nor edge/), sorted by name. */
export function loadContactFixtures(): ContactFixture[] {
  const out: ContactFixture[] = [];
  for (const source of readdirSync(CONTACTS_DIR).sort()) {
    if (NOT_SOURCES.has(source) || !statSync(join(CONTACTS_DIR, source)).isDirectory()) continue;
    for (const file of readdirSync(join(CONTACTS_DIR, source)).sort()) {
      if (file.endsWith('.vcf')) out.push({ name: `${source}/${file}`, source, bytes: readFileSync(join(CONTACTS_DIR, source, file)) });
    }
  }
  return out;
}

export function loadContactQueries(): ContactQueryFixture[] {
  return JSON.parse(readFileSync(join(CONTACTS_DIR, 'queries.json'), 'utf8')) as ContactQueryFixture[];
}
