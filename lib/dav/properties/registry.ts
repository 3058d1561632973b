/**
 * Live properties, keyed by Clark name. A definition computes its value only when asked; a name with
 * no definition is a dead property, stored by the backend.
 */
import type { Entry, PropertyMap } from '../../../backends/backend.js';
import type { DavRequest } from '../context.js';
import type { OutNode } from '../xml/write.js';
import type { XmlElement } from '../xml/parse.js';

/** What a property getter sees: one resource, with its dead properties loaded on demand. */
export class Resource {
  private dead?: Promise<PropertyMap>;

  constructor(
    readonly req: DavRequest,
    readonly entry: Entry,
    /** Its href when the caller has it already (a listing encodes the folder's once). */
    private readonly knownHref?: string,
  ) {}

  get path(): string {
    return this.entry.path;
  }

  get isCollection(): boolean {
    return this.entry.kind === 'collection';
  }

  get href(): string {
    return this.knownHref ?? this.req.href(this.entry.path, this.isCollection);
  }

  deadProps(): Promise<PropertyMap> {
    this.dead ??= this.req.backend.props(this.entry.path, this.entry);
    return this.dead;
  }
}

export interface LiveProperty {
  /** Clark name. */
  name: string;
  /** Returned by `allprop` (RFC 4918 lists which). */
  inAllprop: boolean;
  /** Refuses PROPPATCH with 403 cannot-modify-protected-property. */
  protected: boolean;
  /** Whether the property exists on this resource (default: always). */
  appliesTo?(res: Resource): boolean;
  /**
   * The value's children; null when the resource has no value (→ 404 propstat). `requested` is the
   * element the client asked with, for properties that take parameters (CALDAV:calendar-data).
   */
  get(res: Resource, requested?: XmlElement): Promise<OutNode[] | null> | OutNode[] | null;
  /**
   * Refuses the request's parameters (`requested`) by throwing, before any resource is answered: a
   * streamed 207 cannot become a 4xx later, so a REPORT checks them up front (checkRequested).
   */
  check?(requested: XmlElement | undefined): void;
}

declare module '../context.js' {
  interface Dav {
    /** The live properties of this mount; every other name is a dead property. */
    props: PropertyRegistry;
  }
}

export class PropertyRegistry {
  private readonly byName = new Map<string, LiveProperty>();

  register(...props: LiveProperty[]): this {
    for (const p of props) this.byName.set(p.name, p);
    return this;
  }

  /** Runs each requested live property's check on the element it was asked with (see LiveProperty.check). */
  checkRequested(names: readonly string[], requested: ReadonlyMap<string, XmlElement> | undefined): void {
    for (const name of names) this.byName.get(name)?.check?.(requested?.get(name));
  }

  get(name: string): LiveProperty | undefined {
    return this.byName.get(name);
  }

  /** Every live property, in the order registered. */
  all(): LiveProperty[] {
    return [...this.byName.values()];
  }

  /** Live properties that exist on the resource. */
  applicable(res: Resource): LiveProperty[] {
    return [...this.byName.values()].filter((p) => !p.appliesTo || p.appliesTo(res));
  }
}
