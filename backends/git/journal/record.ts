/**
 * What the write journal holds (docs/git-backend.md, "Writing"): one record per acknowledged change,
 * written by any process under `journal.lock` and fdatasync'd before the response. A record holds the
 * change as resolved effects (slots placed at paths), not as a request: replaying it on any tip cannot
 * fail a guard, so an acknowledged write is never lost at commit time. Shared by the journal file
 * (./journal.ts), the live overlay, the committer, the burst rules (./burst.ts) and messages (./messages.ts).
 */

/** A slot as stored: folders by tree id (never an in-memory map), files by blob id. */
export type StoredSlot = { kind: 'file'; mode: string; oid: string } | { kind: 'dir'; oid: string };

/** Puts `slot` at `path` (an absolute live path, `/a/b.txt`), or removes what is there (null). */
export interface Effect {
  path: string;
  slot: StoredSlot | null;
}

export type RecordOp = 'PUT' | 'DELETE' | 'MOVE' | 'COPY' | 'MKCOL' | 'PROPPATCH' | 'RESTORE' | 'UNLOCK';

/** What the request was, for burst rules and commit messages only (effects alone decide the tree). */
export interface RecordMeta {
  op: RecordOp;
  /** The request's path (MOVE/COPY/RESTORE: the source; RESTORE: the history path). */
  path: string;
  /** MOVE/COPY/RESTORE: the destination. */
  to?: string;
  /** What a layer above said of the change (`Add event "Dentist"`), when it said anything. */
  summary?: string;
  /** RESTORE: the commit the restored version comes from (full id or a label like `1a2b3c4`). */
  restoredFrom?: string;
  /** UNLOCK: when the released lock was taken (epoch ms), so a lock held over the whole burst closes it. */
  lockedAt?: number;
}

/**
 * A small blob's loose object, carried in the record that names it (docs/git-backend.md, "Writing"):
 * the object file is written without fsync, so this copy is what makes the write durable with the
 * record's one fdatasync. The committer makes the file durable (or writes it again from here) before
 * a commit refers to it. `z`: the loose file's bytes (deflated `blob N\0…`), base64.
 */
export interface InlineObject {
  oid: string;
  z: string;
}

/** A record before the journal numbers it. */
export interface JournalEntry {
  /** Epoch ms when acknowledged. */
  time: number;
  /** The principal (commit author); undefined for an anonymous request. */
  user?: string;
  userAgent?: string;
  meta: RecordMeta;
  /** Applied in order; empty for a marker (UNLOCK). */
  effects: Effect[];
  /** Small blobs written without fsync (InlineObject); only in the file: readers drop it on decode. */
  inline?: InlineObject[];
}

/** A numbered record: `seq` grows by one per record for the life of the repository (across rotations). */
export interface JournalRecord extends JournalEntry {
  seq: number;
}

/** The commit trailer naming the last journal record a commit includes (exactly-once after a crash). */
export const JOURNAL_TRAILER = 'Gitdav-Journal';
