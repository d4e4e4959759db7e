/**
 * bench/gpu.ts, the prepared GPU-path check of issue 13, on this machine: the CPU provider runs and its numbers are
 * sane; a provider that cannot start here (WebGPU without an adapter) is reported with ORT's reason, not a crash.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const tmp = mkdtempSync(join(tmpdir(), 'xsys-bench-gpu-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Cell { model: string; batch: number; provider: string; ok: boolean; error?: string; forwardMs?: number; explainerMs?: number; ratio?: number; relDiffToCpu?: number; explainerImagesPerS?: number }

describe('bench:gpu smoke run', () => {
  it('times forward and LRP per provider and compares relevance with the CPU provider', async () => {
    const out = join(tmp, 'gpu.json');
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/gpu.ts', '--providers', 'cpu,webgpu', '--models', 'mnist', '--batches', '2,3', '--runs', '2', '--threads', '1', '--out', out], { timeout: 120_000 });
    const res = JSON.parse(readFileSync(out, 'utf8')) as { maxRelDiff: number; cells: Cell[] };
    expect(res.maxRelDiff).toBe(1e-4);
    const cpu = res.cells.filter((c) => c.provider === 'cpu');
    expect(cpu.map((c) => c.batch)).toEqual([2, 3]);
    for (const c of cpu) {
      expect(c.ok, c.error).toBe(true);
      expect(c.explainerMs! / c.forwardMs!).toBeCloseTo(c.ratio!, 10);
      expect(c.explainerImagesPerS).toBeCloseTo((1000 * c.batch) / c.explainerMs!, 6);
      expect(c.relDiffToCpu).toBeUndefined();
    }
    for (const c of res.cells.filter((x) => x.provider === 'webgpu')) {
      // Either it ran and matches the CPU, or it says why it could not start.
      if (c.ok) expect(c.relDiffToCpu).toBeLessThanOrEqual(1e-4);
      else expect(c.error).toMatch(/\S/);
    }
  }, 150_000);

  it('refuses unknown providers and models by name', async () => {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/gpu.ts', '--models', 'vgg19'], { timeout: 60_000 });
    await expect(run).rejects.toMatchObject({ stderr: expect.stringMatching(/--models: unknown 'vgg19'/) });
  }, 70_000);
});
