/** Shared plumbing of the queue tests: `xsys serve`/`xsys worker` child processes, a dataset of random digits, polling. */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';

import { encodeNpy } from '../../src/io/npy.js';
import { mulberry32 } from '../../src/seeded-random.js';

/** The CLI tests run dist/: rebuilt when src/ is newer. */
export { ensureDist as ensureBuilt } from '../helpers/cli.js';

/** n distinct random 28×28 "digits" as a dataset .npy. */
export function writeDigits(path: string, n: number, seed = 7): string {
  const rand = mulberry32(seed);
  writeFileSync(path, encodeNpy(new Float32Array(n * 784).map(() => rand() * 3 - 0.5), [n, 1, 28, 28]));
  return path;
}

export interface Child {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];

export function spawnXsys(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, ['bin/xsys.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exited };
}

/** Kills every child still running (afterAll). */
export function killChildren(): void {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

export async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, ms = 90_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `xsys serve` and resolves with its URL once it listens. */
export async function serve(args: string[]): Promise<Child & { url: string }> {
  const c = spawnXsys(['serve', '--port', '0', ...args]);
  const url = await waitFor(() => {
    if (c.child.exitCode !== null) throw new Error(`serve exited with ${c.child.exitCode}: ${c.err()}`);
    return /listening on (http:\/\/\S+)/.exec(c.out())?.[1];
  }, 'the server');
  return { ...c, url };
}

/** Starts `xsys worker` and resolves once it is ready. */
export async function worker(queue: string, server: string, extra: string[] = []): Promise<Child> {
  const c = spawnXsys(['worker', '--queue', queue, '--server', server, '--threads', '1', ...extra]);
  await waitFor(() => {
    if (c.child.exitCode !== null) throw new Error(`worker exited with ${c.child.exitCode}: ${c.err()}`);
    return /ready/.test(c.out()) ? true : undefined;
  }, 'the worker');
  return c;
}

export async function stop(c: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill(signal);
  return c.exited;
}

export async function api(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(base + path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export async function finished(base: string, jobId: string, ms = 180_000): Promise<any> {
  return waitFor(async () => {
    const j = await api(base, 'GET', `/api/jobs/${jobId}`);
    return j.state === 'queued' || j.state === 'running' ? undefined : j;
  }, `job ${jobId}`, ms);
}

/**
 * A job's stored results keyed by input (the sha256 of the sample's tensor), without what legitimately differs between
 * two runs: ids, creation times, the job id and the timings. Everything else — artefact hashes (attribution, heatmap,
 * input, display), relevance sum, top-k, target, provenance — must be equal.
 */
export async function resultsByInput(base: string, jobId: string): Promise<Map<string, unknown>> {
  const results = (await api(base, 'GET', `/api/results?jobId=${jobId}&limit=500`)) as any[];
  const out = new Map<string, unknown>();
  for (const r of results) {
    const { id: _id, createdAt: _c, jobId: _j, provenance, ...rest } = r;
    const { timingMs: _t, ...prov } = provenance;
    if (out.has(r.inputId)) throw new Error(`two results for input ${r.inputId}`);
    out.set(r.inputId, { ...rest, provenance: prov });
  }
  return out;
}
