/**
 * End-to-end through the CLI: `xsys serve` as a real child process, killed with SIGKILL in the middle of a job, then
 * started again on the same data directory. Nothing may be silently lost: the job is resumed (and finishes with
 * exactly one result per sample) or, with --no-resume, marked failed with the reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist } from '../helpers/cli.js';

import { encodeNpy } from '../../src/io/npy.js';
import { mulberry32 } from '../../src/seeded-random.js';

let tmp: string;
const children: ChildProcess[] = [];


beforeAll(() => {
  ensureDist();
  tmp = mkdtempSync(join(tmpdir(), 'xsys-restart-'));
  // 24 distinct random "digits": enough work that the kill lands mid-job.
  const rand = mulberry32(7);
  const data = new Float32Array(24 * 784).map(() => rand() * 3 - 0.5);
  writeFileSync(join(tmp, 'slow.npy'), encodeNpy(data, [24, 1, 28, 28]));
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

interface Server {
  child: ChildProcess;
  url: string;
  stdout: () => string;
}

function serve(dataDir: string, ...extra: string[]): Promise<Server> {
  const child = spawn(process.execPath, ['bin/xsys.js', 'serve', '--port', '0', '--data-dir', dataDir, '--dataset', `slow=${join(tmp, 'slow.npy')}`, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve({ child, url: m[1]!, stdout: () => out });
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`serve exited with ${child.exitCode}: ${err}`));
      }
    }, 50);
  });
}

async function get(url: string): Promise<any> {
  return (await fetch(url)).json();
}

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function startJobAndKill(dataDir: string): Promise<{ jobId: string; doneAtKill: number }> {
  const s = await serve(dataDir);
  const models = await get(`${s.url}/api/models`);
  const res = await fetch(`${s.url}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'explain-dataset', modelId: models[0].id, dataset: 'slow', method: 'occlusion', params: { window: 3, stride: 1 } }),
  });
  expect(res.status).toBe(202);
  const jobId = ((await res.json()) as { id: string }).id;
  await waitFor(async () => ((await get(`${s.url}/api/jobs/${jobId}`)).progress.done >= 2 ? true : undefined), 'two samples');
  s.child.kill('SIGKILL');
  await new Promise((r) => s.child.once('exit', r));
  return { jobId, doneAtKill: 2 };
}

describe('xsys serve restart after SIGKILL', () => {
  it('resumes the interrupted job and finishes it with exactly one result per sample', async () => {
    const dataDir = join(tmp, 'resume');
    const { jobId } = await startJobAndKill(dataDir);
    const s = await serve(dataDir);
    expect(s.stdout()).toMatch(new RegExp(`resumed 1 job\\(s\\) interrupted by a restart: ${jobId}`));
    const job = await waitFor(async () => {
      const j = await get(`${s.url}/api/jobs/${jobId}`);
      return j.state === 'running' || j.state === 'queued' ? undefined : j;
    }, 'the resumed job');
    expect(job).toMatchObject({ state: 'done', progress: { done: 24, total: 24 }, attempts: 2 });
    expect(job.resultIds).toHaveLength(24);
    const results = await get(`${s.url}/api/results?jobId=${jobId}&limit=500`);
    expect(results).toHaveLength(24);
    expect(new Set(results.map((r: { inputId: string }) => r.inputId)).size).toBe(24);
    s.child.kill('SIGTERM');
    await new Promise((r) => s.child.once('exit', r));
  });

  it('with --no-resume marks the job failed with the reason and keeps its partial results', async () => {
    const dataDir = join(tmp, 'fail');
    const { jobId } = await startJobAndKill(dataDir);
    const s = await serve(dataDir, '--no-resume');
    expect(s.stdout()).toContain(`marked 1 interrupted job(s) failed: ${jobId}`);
    const job = await get(`${s.url}/api/jobs/${jobId}`);
    expect(job.state).toBe('failed');
    expect(job.error).toMatch(/^interrupted by server restart/);
    expect(job.progress.done).toBeGreaterThanOrEqual(2);
    expect(job.resultIds).toHaveLength(job.progress.done);
    s.child.kill('SIGTERM');
    const code = await new Promise((r) => s.child.once('exit', r));
    expect(code).toBe(0);
  });
});

describe('xsys serve graceful shutdown', () => {
  it('SIGTERM mid-job exits 0 and leaves the job queued; the next start finishes it', async () => {
    const dataDir = join(tmp, 'graceful');
    const s = await serve(dataDir);
    const models = await get(`${s.url}/api/models`);
    const res = await fetch(`${s.url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'explain-dataset', modelId: models[0].id, dataset: 'slow', method: 'occlusion', params: { window: 3, stride: 1 } }) });
    const jobId = ((await res.json()) as { id: string }).id;
    await waitFor(async () => ((await get(`${s.url}/api/jobs/${jobId}`)).progress.done >= 1 ? true : undefined), 'one sample');
    s.child.kill('SIGTERM');
    expect(await new Promise((r) => s.child.once('exit', r))).toBe(0);
    expect(s.stdout()).toContain('running jobs stay queued');
    const again = await serve(dataDir);
    const job = await waitFor(async () => {
      const j = await get(`${again.url}/api/jobs/${jobId}`);
      return j.state === 'done' ? j : undefined;
    }, 'the continued job');
    expect(job.resultIds).toHaveLength(24);
    expect(new Set((await get(`${again.url}/api/results?jobId=${jobId}&limit=500`)).map((r: { inputId: string }) => r.inputId)).size).toBe(24);
    again.child.kill('SIGTERM');
    await new Promise((r) => again.child.once('exit', r));
  });
});

describe('xsys serve governance', () => {
  it('refuses a second server on the same data directory', async () => {
    const dir = join(tmp, 'locked');
    const first = await serve(dir, '--no-example');
    const second = spawn(process.execPath, ['bin/xsys.js', 'serve', '--port', '0', '--data-dir', dir, '--no-example']);
    let err = '';
    second.stderr.on('data', (b: Buffer) => (err += b.toString()));
    expect(await new Promise((r) => second.once('exit', r))).toBe(2);
    expect(err).toContain(`another xsys serve (pid ${first.child.pid}) is using the data directory`);
    // A port in use is a clear error too, and the failed server leaves no lock behind.
    const other = join(tmp, 'other');
    const busy = spawn(process.execPath, ['bin/xsys.js', 'serve', '--port', new URL(first.url).port, '--data-dir', other, '--no-example']);
    let busyErr = '';
    busy.stderr.on('data', (b: Buffer) => (busyErr += b.toString()));
    expect(await new Promise((r) => busy.once('exit', r))).toBe(2);
    expect(busyErr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    expect(existsSync(join(other, 'serve.lock'))).toBe(false);
    first.child.kill('SIGTERM');
    await new Promise((r) => first.child.once('exit', r));
    expect(existsSync(join(dir, 'serve.lock'))).toBe(false);
  });

  it('refuses a non-loopback address without tokens, accepts it with one', async () => {
    const refused = spawn(process.execPath, ['bin/xsys.js', 'serve', '--host', '0.0.0.0', '--port', '0', '--data-dir', join(tmp, 'gov'), '--no-example']);
    let err = '';
    refused.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise((r) => refused.once('exit', r));
    expect(code).toBe(2);
    expect(err).toMatch(/refusing to bind 0\.0\.0\.0 without tokens/);
    expect(err).toMatch(/hint: pass --token/);
    expect(err).not.toMatch(/^\s+at /m);

    const s = await serve(join(tmp, 'gov'), '--host', '0.0.0.0', '--token', `${'t'.repeat(24)}:read`, '--no-example');
    const port = new URL(s.url).port;
    expect((await fetch(`http://127.0.0.1:${port}/api/models`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${port}/api/models`, { headers: { authorization: `Bearer ${'t'.repeat(24)}` } })).status).toBe(200);
    s.child.kill('SIGTERM');
    await new Promise((r) => s.child.once('exit', r));
  });
});
