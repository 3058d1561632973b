/**
 * A small state file rewritten whole on every change (locks, volatile or per-user properties): each
 * snapshot goes to a temp file that is renamed over the file, so a reader or a crash sees the old
 * snapshot or the new one, and saves are chained, so an older snapshot never lands after a newer one.
 * A failed save does not poison the chain: the next one is attempted whatever became of it.
 */
import { promises as fsp } from 'node:fs';

export class SnapshotFile {
  private saving: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  save(text: string): Promise<void> {
    this.saving = this.saving.catch(() => undefined).then(async () => {
      // Saves never overlap (chained), so one temp name per process suffices: one SnapshotFile per file.
      const tmp = `${this.file}.${process.pid}.tmp`;
      await fsp.writeFile(tmp, text);
      await fsp.rename(tmp, this.file);
    });
    return this.saving;
  }
}
