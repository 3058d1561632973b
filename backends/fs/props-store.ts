/**
 * Dead properties of the folder backend, kept in one hidden JSON sidecar per folder (`.davprops`):
 * `{ "<member name>": { "<clark name>": "<xml>" }, ".": { ...the folder's own... } }`.
 * A folder's own properties live inside it, so they travel with it on COPY/MOVE/DELETE for free; a
 * file's live in its parent's sidecar and are moved by the backend with the file.
 * All calls run inside the backend's write mutex; the sidecar is replaced by temp file + rename.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { parseSidecar, propsOf, serializeSidecar, SIDECAR, withProps, type Sidecar } from '../sidecar.js';

export { SELF, SIDECAR } from '../sidecar.js';

export class PropsStore {
  constructor(private readonly tmpFile: () => string) {}

  async read(dirAbs: string): Promise<Sidecar> {
    try {
      return parseSidecar(await fsp.readFile(join(dirAbs, SIDECAR), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
  }

  async get(dirAbs: string, key: string): Promise<Map<string, string>> {
    return propsOf(await this.read(dirAbs), key);
  }

  /** Replaces the properties stored under `key` (an empty map removes the key). */
  async put(dirAbs: string, key: string, props: Map<string, string>): Promise<void> {
    const sidecar = await this.read(dirAbs);
    if (props.size === 0 && !(key in sidecar)) return;
    await this.save(dirAbs, withProps(sidecar, key, props));
  }

  /** Moves the entry `fromKey` of one sidecar to `toKey` of another (or the same). */
  async transfer(fromDir: string, fromKey: string, toDir: string, toKey: string, keepSource: boolean): Promise<void> {
    const props = await this.get(fromDir, fromKey);
    if (!keepSource && props.size > 0) await this.put(fromDir, fromKey, new Map());
    await this.put(toDir, toKey, props);
  }

  private async save(dirAbs: string, sidecar: Sidecar): Promise<void> {
    const target = join(dirAbs, SIDECAR);
    if (Object.keys(sidecar).length === 0) {
      await fsp.rm(target, { force: true });
      return;
    }
    const tmp = this.tmpFile();
    await fsp.writeFile(tmp, serializeSidecar(sidecar));
    await fsp.rename(tmp, target);
  }
}
