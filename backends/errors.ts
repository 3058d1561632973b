/**
 * Domain errors of the storage layer. They carry a stable `code` and the path concerned; one mapper in
 * the DAV layer (lib/dav/errors/from-backend.ts) turns them into HTTP statuses.
 */
export type BackendErrorCode =
  | 'NotFound' // the resource does not exist
  | 'ParentMissing' // the parent collection of a new resource does not exist
  | 'AlreadyExists' // MKCOL on a mapped URL, or a copy/move target without overwrite
  | 'NotACollection' // a path goes through a file, or lists a file
  | 'IsACollection' // a file operation on a collection
  | 'ReadOnly' // the backend (or this part of it) does not accept writes
  | 'Forbidden' // a reserved name, or a path that would leave the root
  | 'NotGranted' // a share does not give this user the right to write there (read-only share)
  | 'InvalidName' // a name the store cannot hold or look up (e.g. a bad ref name)
  | 'PathTooLong' // a path longer than the store can hold or look up
  | 'LoopDetected' // the path runs into a loop of symbolic links (folder backend)
  | 'InsufficientStorage' // the disk is full or a quota is exhausted
  | 'InvalidRange' // a partial write starts past the end
  | 'Conflict' // the resource changed under a long write that could not be replayed
  | 'InvalidSyncToken'
  | 'Busy' // the store is locked by another writer for now: try again shortly
  | 'Corrupt'; // stored data cannot be read

export class BackendError extends Error {
  constructor(
    readonly code: BackendErrorCode,
    readonly path: string,
    message?: string,
    options?: { cause?: unknown },
  ) {
    super(message ?? `${code}: ${path}`, options);
    this.name = 'BackendError';
  }
}

export function isBackendError(err: unknown, code?: BackendErrorCode): err is BackendError {
  return err instanceof BackendError && (code === undefined || err.code === code);
}
