/**
 * Browser test harness: a real `xsys serve` (the built CLI, port 0, a temp data dir) and Debian's chromium driven by
 * playwright-core. Never a downloaded browser: CI installs chromium with apt (.ci/run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = process.cwd();

export interface Service {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** Fails with a clear message when the CLI or the web UI has not been built (npm ci / npm run build do both). */
export function requireBuilt(): void {
  for (const f of ['dist/src/cli/main.js', 'web/dist/index.html', 'web/dist/ort/ort-wasm-simd-threaded.jsep.wasm']) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` before the browser tests`);
  }
}

export async function startService(extraArgs: string[] = []): Promise<Service> {
  const dataDir = mkdtempSync(join(tmpdir(), 'xsys-e2e-'));
  const child: ChildProcess = spawn(process.execPath, ['bin/xsys.js', 'serve', '--port', '0', '--data-dir', dataDir, ...extraArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`xsys serve did not start within 60 s:\n${log}`)), 60_000);
    const onData = (b: Buffer) => {
      log += b.toString();
      const m = log.match(/listening on (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!.replace(/\/?$/, '/'));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`xsys serve exited with ${code}:\n${log}`));
    });
  });
  return {
    url,
    dataDir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
}

/** Where screenshots go: docs/screenshots when XSYS_SCREENSHOTS=1 (to refresh the docs), else a temp dir. */
export function screenshotDir(): string {
  const dir = process.env.XSYS_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : mkdtempSync(join(tmpdir(), 'xsys-shots-'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function maxRelDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}
