/**
 * Content-addressed downloads of a worker: model and dataset bytes come from the server by sha256, are verified, and
 * are cached on disk under their hash (a cached file is verified again when read, so a corrupted cache is refetched,
 * never used).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { XsysError } from '../errors.js';

export const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export class BlobCache {
  private readonly inflight = new Map<string, Promise<Uint8Array>>();

  constructor(
    private readonly dir: string,
    private readonly fetchBytes: (path: string) => Promise<Uint8Array>,
  ) {}

  /** The bytes with this hash: from the cache, else from `path` on the server. Throws when the server's bytes do not match. */
  get(sha256: string, path: string, what: string): Promise<Uint8Array> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new XsysError(`${what}: '${sha256.slice(0, 80)}' is not a sha256`);
    let p = this.inflight.get(sha256);
    if (!p) {
      p = this.load(sha256, path, what);
      this.inflight.set(sha256, p);
      p.catch(() => this.inflight.delete(sha256));
    }
    return p;
  }

  private async load(sha256: string, path: string, what: string): Promise<Uint8Array> {
    const file = join(this.dir, sha256);
    const cached = await readFile(file).then((b) => new Uint8Array(b), () => undefined);
    if (cached && sha256Of(cached) === sha256) return cached;
    if (cached) await rm(file, { force: true });
    const bytes = await this.fetchBytes(path);
    const got = sha256Of(bytes);
    if (got !== sha256) throw new XsysError(`${what}: the server sent bytes with sha256 ${got}, expected ${sha256}`, { hint: 'the server\'s copy changed or was corrupted; the shard is not computed from it' });
    await mkdir(this.dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
    return bytes;
  }
}
