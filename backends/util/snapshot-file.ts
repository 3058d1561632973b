/**
 * A small state file rewritten whole on every change (volatile or per-user properties): each snapshot
 * is written whole (durable-file.ts: temp file, rename, with the fsyncs the owner's durability asks
 * for), so a reader or a crash sees the old snapshot or the new one, and saves are chained, so an
 * older snapshot never lands after a newer one. A failed save does not poison the chain: the next one
 * is attempted whatever became of it.
 */
import { writeFileDurably, type Durability } from './durable-file.js';

export class SnapshotFile {
  private saving: Promise<void> = Promise.resolve();

  /** `durability`: 'fsync' when the file is the only copy of what it holds, 'atomic' when it can be rebuilt. */
  constructor(
    readonly file: string,
    private readonly durability: Durability,
  ) {}

  save(text: string): Promise<void> {
    this.saving = this.saving.catch(() => undefined).then(() => writeFileDurably(this.file, text, { durability: this.durability }));
    return this.saving;
  }
}
