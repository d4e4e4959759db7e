/**
 * Builds dist/ once, before any test file runs, when src/ is newer: the end-to-end tests run the built CLI. Done here
 * (asynchronously, in vitest's main process) rather than by the first test file that needs it, because a synchronous
 * build inside a test worker blocks its event loop and, on a loaded machine, outlasts vitest's RPC timeout.
 */
import { spawn } from 'node:child_process';

import { distIsStale } from './cli.js';

export default async function setup(): Promise<void> {
  if (!distIsStale()) return;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tsc -p tsconfig.json exited with ${code}`))));
  });
}
