/** What the users and shares tests of address books have in common: a card, a response of a multistatus. */

/** A small vCard 3.0 with the UID and the formatted name given (N and EMAIL made from them). */
export function vcard(uid: string, fn: string): string {
  const [first, ...rest] = fn.split(' ');
  return ['BEGIN:VCARD', 'VERSION:3.0', `UID:${uid}`, `FN:${fn}`, `N:${rest.join(' ')};${first};;;`, `EMAIL;TYPE=INTERNET:${uid}@example.org`, 'END:VCARD', ''].join('\r\n');
}

/** The response for one href in a multistatus, or undefined. */
export const responseFor = (text: string, href: string): string | undefined => text.split('<D:response>').find((b) => b.includes(`<D:href>${href}</D:href>`));

export const VCF = { 'Content-Type': 'text/vcard; charset=utf-8' };

export const CARDDAV_NS = 'urn:ietf:params:xml:ns:carddav';

/** A sync-collection REPORT from a token ('' for the first), asking getetag. */
export const syncBody = (token: string): string =>
  `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>${token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`;
