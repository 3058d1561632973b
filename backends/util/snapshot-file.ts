/**
 * A small state file rewritten whole on every change (volatile or per-user properties): each snapshot
 * is written durably (durable-file.ts: temp file, fsync, rename, directory fsync), so a reader or a
 * crash sees the old snapshot or the new one, and saves are chained, so an older snapshot never lands
 * after a newer one. A failed save does not poison the chain: the next one is attempted whatever
 * became of it.
 */
import { writeFileDurably } from './durable-file.js';

export class SnapshotFile {
  private saving: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  save(text: string): Promise<void> {
    this.saving = this.saving.catch(() => undefined).then(() => writeFileDurably(this.file, text));
    return this.saving;
  }
}
