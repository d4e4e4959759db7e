/** Running the built CLI (`node bin/xsys.js`, i.e. dist/) from end-to-end tests; dist/ is rebuilt when stale. */
import { execFileSync, spawnSync } from 'node:child_process';
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

export function ensureDist(): void {
  const main = 'dist/src/cli/main.js';
  if (!existsSync(main) || statSync(main).mtimeMs < newestMtime('src')) {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  }
}

export function xsys(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/xsys.js', ...args], { encoding: 'utf8', env: { ...process.env, XSYS_DEBUG: '' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
