/**
 * Which paths of the live tree clients never see or make: the `.davprops` sidecars, the names
 * reserved at the root for what the repository mounts there (`.history`), and, for new entries,
 * names git itself refuses in a tree (./reserved-names.ts).
 */
import { BackendError } from '../errors.js';
import { SIDECAR } from '../sidecar.js';
import { gitRefusesName } from './reserved-names.js';

/** The longest name (bytes) a new entry may have: the common file systems' limit (ext4, XFS, APFS, NTFS in UTF-16 units). */
const NAME_MAX = 255;

export class LiveNames {
  private readonly reserved: ReadonlySet<string>;

  constructor(reserved: Iterable<string>) {
    this.reserved = new Set(reserved);
  }

  /** Bookkeeping names clients never see: the sidecars, and the names reserved at the root. */
  isHidden(path: string): boolean {
    const segs = path.split('/');
    return segs.includes(SIDECAR) || (segs.length > 1 && this.reserved.has(segs[1]!));
  }

  /**
   * isHidden(joinPath(dir, name)) for a member of a folder whose own answer is `dirHidden`, without
   * splitting each member's path: a listing of 100,000 members asked once per member.
   */
  isHiddenMember(dirHidden: boolean, dir: string, name: string): boolean {
    return dirHidden || name === SIDECAR || (dir === '/' && this.reserved.has(name));
  }

  /**
   * Refuses writes to the sidecars and the reserved root names; `creates`: also names git would
   * refuse in a tree. DELETE and a MOVE's source skip that check, so such a name written by native
   * git can still be removed or renamed.
   */
  assertWritable(path: string, creates = false): void {
    const segs = path.split('/');
    if (segs.length > 1 && this.reserved.has(segs[1]!)) throw new BackendError('Forbidden', path, `${segs[1]} is a reserved name`);
    if (segs.includes(SIDECAR)) throw new BackendError('Forbidden', path, `${SIDECAR} is a reserved name`);
    if (!creates) return;
    // Git stores any length, but a checkout, a clone or the folder backend could not hold it. Only the
    // last name: a long-named folder native git committed can still be written into.
    if (Buffer.byteLength(segs[segs.length - 1]!) > NAME_MAX) throw new BackendError('InvalidName', path, `a name is longer than ${NAME_MAX} bytes, which a file system cannot store (a clone could not check it out)`);
    for (const seg of path === '/' ? [] : segs.slice(1)) {
      const why = gitRefusesName(seg);
      if (why) throw new BackendError('Forbidden', path, `${why}; git refuses such a path in a repository, so this server does too`);
    }
  }
}
