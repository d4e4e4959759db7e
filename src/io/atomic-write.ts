/**
 * Atomic file writing. Outputs (heatmaps, .npy relevances) are written to a temporary file next to the target and then
 * renamed over it, so an interrupted run never leaves a half-written file that a later step would mistake for a
 * complete one. rename() is atomic within one directory on POSIX file systems, which is why the temporary file lives
 * in the target's directory rather than in the system temp dir.
 */
import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { FileFormatError } from '../errors.js';

/**
 * Write `bytes` to `path` atomically (temp file + rename). Failures (missing directory, no permission, full disk)
 * become a FileFormatError naming the target, and the temporary file is removed.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? `directory '${dirname(path)}' does not exist`
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : (err as Error).message;
    throw new FileFormatError(path, `cannot write file: ${reason}`, 'check that the output directory exists and is writable');
  }
}
