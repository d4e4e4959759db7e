/** .npy files on disk (Node only); the format itself is in npy.ts. */
import { readFile } from 'node:fs/promises';

import { FileFormatError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { encodeNpy, parseNpy, type NdArray, type NpyData, type NpyDtype } from './npy.js';

/** Read and parse a .npy file. A missing or unreadable file is a FileFormatError, like a malformed one. */
export async function readNpy(path: string): Promise<NdArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a directory, not a .npy file'
          : code === 'EACCES'
            ? 'permission denied'
            : `cannot read file: ${(err as Error).message}`;
    throw new FileFormatError(path, reason);
  }
  return parseNpy(bytes, path);
}

/** Write a .npy file atomically (temporary file + rename), so a crash never leaves a truncated array behind. */
export async function writeNpy(path: string, data: NpyData, shape: number[], dtype?: NpyDtype): Promise<void> {
  await writeFileAtomic(path, encodeNpy(data, shape, dtype));
}
