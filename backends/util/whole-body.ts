/**
 * WholeBody: content already held whole in memory (a small packed git blob, inflated in one go), as
 * the Readable a backend's `read` returns. Streamed like any body; a caller that wants the bytes
 * whole (the CalDAV object cache) takes `content` through `wholeContent` and skips the stream's
 * machinery — per small object that machinery (a Readable, an async iterator, the end's ticks) cost
 * more than reading the object (issue 13, the first calendar-query after a restart).
 */
import { Readable } from 'node:stream';

export class WholeBody extends Readable {
  constructor(readonly content: Buffer) {
    super();
    this.push(content);
    this.push(null);
  }

  override _read(): void {
    // everything was pushed at construction
  }
}

/** The body's content when it is held whole and not read yet, else null (then read the stream). */
export function wholeContent(body: Readable): Buffer | null {
  if (!(body instanceof WholeBody) || body.readableDidRead || body.destroyed) return null;
  body.destroy(); // its bytes are taken here: nothing more to read
  return body.content;
}
