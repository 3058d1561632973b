/**
 * Sync tokens bound to the collection they were issued for. A backend's token names a state (git: a
 * tree id; folder: a snapshot id); on its own such a name would let anyone who can sync one collection
 * ask about any other state: another collection's tree, or a tree they built themselves to test a guess
 * at its content (issue 10 #5). So every token carries an HMAC over (collection path in the owning
 * tree, state) under a random key of that tree's own, and a token whose MAC does not match is refused
 * (`valid-sync-token`, on which clients resync from scratch). Nothing expires: a token stays valid for
 * its collection as long as its state can be read.
 *
 * The key is 32 random bytes in `<state dir>/sync-token.key` (mode 0600), made on first use: written
 * to a temp file, fsynced, then linked into place (durable-file.ts, create-only), so two processes on
 * one repository agree on one key (the second link fails and that process reads the first one's) and
 * a crash never leaves a short key.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { readTextIfExists, writeFileDurably } from './util/durable-file.js';
import { BackendError } from './errors.js';

const KEY_BYTES = 32;
/** 128 bits of MAC: enough against guessing, short enough for clients that store tokens. */
const MAC_HEX = 32;

export class SyncTokenKey {
  private key: Promise<Buffer> | null = null;

  constructor(private readonly file: string) {}

  static in(stateDir: string): SyncTokenKey {
    return new SyncTokenKey(join(stateDir, 'sync-token.key'));
  }

  /** Reads or makes the key now (at start), so a disk that fills up later does not keep it from being made. */
  async prepare(): Promise<void> {
    await this.load().catch((err: unknown) => {
      if (!(err instanceof BackendError && err.code === 'InsufficientStorage')) throw err;
    });
  }

  /** `state.mac`: `state` (letters, digits, `-`) bound to `collection`. */
  async sign(collection: string, state: string): Promise<string> {
    return `${state}.${await this.mac(collection, state)}`;
  }

  /** The state a signed value names, if it was signed for `collection` with this key; else null. */
  async verify(collection: string, signed: string): Promise<string | null> {
    const m = /^([0-9A-Za-z-]{1,128})\.([0-9a-f]+)$/.exec(signed);
    if (!m || m[2]!.length !== MAC_HEX) return null;
    const expected = Buffer.from(await this.mac(collection, m[1]!), 'hex');
    return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex')) ? m[1]! : null;
  }

  private async mac(collection: string, state: string): Promise<string> {
    const key = await this.load();
    return createHmac('sha256', key).update(`gitdav sync-token\0${collection}\0${state}`).digest('hex').slice(0, MAC_HEX);
  }

  private load(): Promise<Buffer> {
    // A failure (a full disk on first use) is not remembered: the next call tries again.
    this.key ??= readOrCreate(this.file).catch((err: unknown) => {
      this.key = null;
      throw err;
    });
    return this.key;
  }
}

async function readOrCreate(file: string): Promise<Buffer> {
  const existing = await readKey(file);
  if (existing) return existing;
  try {
    // Create-only (link): fails if another process made the key first; then use theirs. fsync: the
    // only copy, and a key lost after tokens were handed out would void them all.
    await writeFileDurably(file, randomBytes(KEY_BYTES).toString('hex') + '\n', { durability: 'fsync', mode: 0o600, replace: false });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new BackendError('InsufficientStorage', '/', 'no space left to create the sync-token key', { cause: err });
    if (code !== 'EEXIST') throw err;
  }
  const key = await readKey(file);
  if (!key) throw new Error(`${file} could not be created`);
  return key;
}

async function readKey(file: string): Promise<Buffer | null> {
  const text = await readTextIfExists(file);
  if (text === null) return null;
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${file} is not a sync-token key (64 hex digits); remove it to make a new one (clients then resync once)`);
  return Buffer.from(hex, 'hex');
}
