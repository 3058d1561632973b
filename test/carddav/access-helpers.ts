/** What the users and shares tests of address books have in common (the cards themselves: ./helpers.ts). */
import { vcard as bareCard } from './helpers.js';

/** A vCard 3.0 with the UID and name given, and an N and an EMAIL made from them (as clients write). */
export function vcard(uid: string, fn: string): string {
  const [first, ...rest] = fn.split(' ');
  return bareCard(uid, fn, { extra: [`N:${rest.join(' ')};${first};;;`, `EMAIL;TYPE=INTERNET:${uid}@example.org`] });
}

/** The response for one href in a multistatus, or undefined. */
export const responseFor = (text: string, href: string): string | undefined => text.split('<D:response>').find((b) => b.includes(`<D:href>${href}</D:href>`));

export const VCF = { 'Content-Type': 'text/vcard; charset=utf-8' };

/** A sync-collection REPORT from a token ('' for the first), asking getetag. */
export const syncBody = (token: string): string =>
  `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>${token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`;
