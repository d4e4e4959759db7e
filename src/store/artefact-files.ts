/**
 * Artefact bytes on disk, content-addressed: `<root>/<first two hex>/<sha256>`. A file is written to a temporary name
 * in its final directory and renamed into place, so a reader never sees a partial artefact; because the name is the
 * hash of the content, two writers of the same bytes race harmlessly and a leftover file from a failed transaction is
 * just an unreferenced copy of correct data.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';

import { StoreError, storeFailure } from './errors.js';

/** The file operations used, injectable so tests can simulate a full disk. */
export interface FileOps {
  writeFile(path: string, bytes: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  size(path: string): Promise<number | undefined>;
}

export const nodeFileOps: FileOps = {
  writeFile: (p, b) => fsp.writeFile(p, b),
  rename: (a, b) => fsp.rename(a, b),
  unlink: (p) => fsp.unlink(p),
  mkdir: async (p) => {
    await fsp.mkdir(p, { recursive: true });
  },
  readFile: (p) => fsp.readFile(p),
  size: async (p) => {
    try {
      return (await fsp.stat(p)).size;
    } catch {
      return undefined;
    }
  },
};

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class ArtefactFiles {
  constructor(
    readonly root: string,
    private readonly ops: FileOps = nodeFileOps,
  ) {}

  pathOf(sha256: string): string {
    // Callers validate ids; this is the last line of defence against a path reaching the file system unchecked.
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new StoreError('corrupt', `not an artefact id: '${sha256.slice(0, 80)}'`);
    return join(this.root, sha256.slice(0, 2), sha256);
  }

  /** Writes the bytes unless an intact copy exists; returns the sha256. */
  async write(bytes: Uint8Array, sha256 = sha256Hex(bytes)): Promise<string> {
    const path = this.pathOf(sha256);
    if ((await this.ops.size(path)) === bytes.length) return sha256;
    const dir = join(this.root, sha256.slice(0, 2));
    const tmp = join(dir, `.${sha256}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await this.ops.mkdir(dir);
      await this.ops.writeFile(tmp, bytes);
      await this.ops.rename(tmp, path);
    } catch (err) {
      await this.ops.unlink(tmp).catch(() => undefined);
      throw storeFailure(`artefact ${sha256.slice(0, 12)}…`, err);
    }
    return sha256;
  }

  /** The bytes, checked against their hash's recorded length; undefined if the file is missing. */
  async read(sha256: string, expectedBytes?: number): Promise<Uint8Array | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await this.ops.readFile(this.pathOf(sha256));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw storeFailure(`artefact ${sha256.slice(0, 12)}…`, err);
    }
    if (expectedBytes !== undefined && bytes.length !== expectedBytes) {
      throw new StoreError('corrupt', `artefact ${sha256} has ${bytes.length} bytes on disk, ${expectedBytes} recorded`, 'the data directory was modified outside xsys; recompute the result');
    }
    return bytes;
  }
}
