import { XsysError } from '../errors.js';

/**
 * The store could not persist something. `reason` 'full' is a full disk (ENOSPC / SQLITE_FULL): the service answers
 * 507 and the store stays consistent, because nothing is committed until every file of a record is written.
 */
export class StoreError extends XsysError {
  constructor(
    readonly reason: 'full' | 'io' | 'corrupt',
    message: string,
    hint?: string,
    cause?: unknown,
  ) {
    super(message, { hint, exitCode: 4, cause });
  }
}

/** Turns a file-system, SQLite or PostgreSQL error into a StoreError naming what was being written. */
export function storeFailure(what: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: string }).code;
  // 53100: PostgreSQL's disk_full.
  if (code === 'ENOSPC' || code === 'SQLITE_FULL' || code === 'EDQUOT' || code === '53100') {
    return new StoreError('full', `cannot store ${what}: no space left on the data directory's disk`, 'free disk space or start xsys serve with another --data-dir; nothing was half-written', err);
  }
  return new StoreError('io', `cannot store ${what}: ${(err as Error).message}`, 'check that the data directory is writable', err);
}
