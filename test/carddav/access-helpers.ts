/** What the users and shares tests of address books have in common (the cards themselves: ./helpers.ts; multistatus bodies: ../helpers/listings.ts responses, sync-collection: ../helpers/sync-report.ts). */
import { vcard as bareCard } from './helpers.js';

/** A vCard 3.0 with the UID and name given, and an N and an EMAIL made from them (as clients write). */
export function vcard(uid: string, fn: string): string {
  const [first, ...rest] = fn.split(' ');
  return bareCard(uid, fn, { extra: [`N:${rest.join(' ')};${first};;;`, `EMAIL;TYPE=INTERNET:${uid}@example.org`] });
}

export const VCF = { 'Content-Type': 'text/vcard; charset=utf-8' };
