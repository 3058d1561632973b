/** XML namespaces and Clark names (`{ns}local`), the only way names are spelled in gitdav. */
export const NS = {
  DAV: 'DAV:',
  CALDAV: 'urn:ietf:params:xml:ns:caldav',
  CARDDAV: 'urn:ietf:params:xml:ns:carddav',
  CALSERVER: 'http://calendarserver.org/ns/',
  APPLE: 'http://apple.com/ns/ical/',
  GITDAV: 'urn:x-gitdav:',
  OWNCLOUD: 'http://owncloud.org/ns',
  XML: 'http://www.w3.org/XML/1998/namespace',
} as const;

/** Prefixes declared once on every response's root element. */
export const PREFIXES: Readonly<Record<string, string>> = {
  [NS.DAV]: 'D',
};

export function clark(ns: string, local: string): string {
  return `{${ns}}${local}`;
}

export function dav(local: string): string {
  return clark(NS.DAV, local);
}

export function splitClark(name: string): { ns: string; local: string } {
  if (!name.startsWith('{')) return { ns: '', local: name };
  const end = name.indexOf('}');
  return { ns: name.slice(1, end), local: name.slice(end + 1) };
}
