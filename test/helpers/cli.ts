/** Running the built CLI (`node bin/xsys.js`, i.e. dist/) from end-to-end tests; dist/ is rebuilt when stale. */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

export function distIsStale(): boolean {
  const main = 'dist/src/cli/main.js';
  return !existsSync(main) || statSync(main).mtimeMs < newestMtime('src');
}

/** Normally a no-op: the global setup (global-setup.ts) built dist/ before the tests started. */
export function ensureDist(): void {
  if (distIsStale()) {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  }
}

/**
 * Runs the built CLI as a child process and resolves with its exit code and output. Asynchronous on purpose: a test
 * worker blocked in spawnSync for longer than vitest's 60 s RPC timeout (a long command on a loaded machine) fails the
 * run with "Timeout calling onTaskUpdate".
 */
export function xsys(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/xsys.js', ...args], { env: { ...process.env, XSYS_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
}
