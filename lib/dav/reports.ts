/** REPORT handlers (RFC 3253 §3.6), keyed by the Clark name of the request body's root element. */
import type { DavRequest } from './context.js';
import type { Resource } from './properties/registry.js';
import type { XmlElement } from './xml/parse.js';

export interface ReportHandler {
  name: string;
  /** Whether the report may be run on this resource (drives supported-report-set). */
  supportedOn(res: Resource): boolean | Promise<boolean>;
  run(req: DavRequest, body: XmlElement, target: Resource): Promise<void>;
}

declare module './context.js' {
  interface Dav {
    /** The REPORTs this mount answers. */
    reports: ReportRegistry;
  }
}

export class ReportRegistry {
  private readonly byName = new Map<string, ReportHandler>();

  register(...reports: ReportHandler[]): this {
    for (const r of reports) this.byName.set(r.name, r);
    return this;
  }

  get(name: string): ReportHandler | undefined {
    return this.byName.get(name);
  }

  async supportedOn(res: Resource): Promise<ReportHandler[]> {
    const out: ReportHandler[] = [];
    for (const r of this.byName.values()) if (await r.supportedOn(res)) out.push(r);
    return out;
  }
}
