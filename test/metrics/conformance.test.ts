import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { isMetricsManifest, onnxScoreFn, runMetricsConformance } from '../../src/conformance/metrics.js';
import { toFloat32 } from '../../src/io/npy.js';
import { readNpy } from '../../src/io/npy-file.js';
import { fixtureWeights, linearScore } from './helpers.js';

const FIX = 'test/fixtures/metrics-conformance';
const MANIFEST = `${FIX}/manifest.json`;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'xsys-metrics-conf-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('metrics conformance with Quantus v0.6', () => {
  it('passes every case of the shared manifest', async () => {
    const seen: string[] = [];
    const report = await runMetricsConformance(MANIFEST, { onCase: (r) => seen.push(r.id) });
    for (const c of report.cases) expect(c, `${c.id}: ${c.error ?? ''}`).toMatchObject({ pass: true });
    expect(report.cases.length).toBe(12);
    expect(report.failed).toBe(0);
    expect(seen).toContain('pixel-flipping/curve-step-16-logits');
    expect(Math.max(...report.cases.map((c) => c.relativeError))).toBeLessThan(1e-6);
  });

  it("passes the re-trace of Quantus 0.6's region perturbation, selectivity and pixel flipping (block grid, drifting baselines)", async () => {
    const report = await runMetricsConformance('test/fixtures/metrics-quantus06/manifest.json');
    for (const c of report.cases) expect(c, `${c.id}: ${c.error ?? ''}`).toMatchObject({ pass: true });
    expect(report.cases.length).toBe(28);
    expect(report.cases.map((c) => c.id)).toContain('region-perturbation/a-p3-morf-r100-logits-mean');
  });

  it('fails a case whose expected value is off, and reports a case that throws as a failure with its message', async () => {
    const m = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    cpSync(FIX, join(tmp, 'fx'), { recursive: true });
    m.cases[0].expected[0] += 1e-3;
    m.cases[1].metric = 'no-such-metric';
    const path = join(tmp, 'fx', 'manifest.json');
    writeFileSync(path, JSON.stringify(m));
    const report = await runMetricsConformance(path);
    expect(report.cases[0]!.pass).toBe(false);
    expect(report.cases[0]!.relativeError).toBeCloseTo(1e-3, 6);
    expect(report.cases[1]!.error).toMatch(/unknown metric 'no-such-metric'/);
    expect(report.failed).toBe(2);
  });

  it('tells a metrics manifest from an explanation manifest', async () => {
    expect(await isMetricsManifest(MANIFEST)).toBe(true);
    expect(await isMetricsManifest('test/fixtures/conformance/manifest.json')).toBe(false);
    expect(await isMetricsManifest(join(tmp, 'missing.json'))).toBe(false);
  });

  it('the ONNX ScoreFn on linear.onnx equals x · W with the README formula', async () => {
    const score = await onnxScoreFn(`${FIX}/models/linear.onnx`);
    const x = toFloat32(await readNpy(`${FIX}/data/x.npy`));
    const got = await score(x, [2, 1, 8, 8]);
    const want = await linearScore(fixtureWeights())(x, [2, 64]);
    expect(got.length).toBe(6);
    for (let i = 0; i < 6; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
  });

  it('xsys conformance runs a metrics manifest end to end (the CLI entry point, in process)', async () => {
    // In process rather than through bin/xsys.js: other test files rebuild dist/ concurrently.
    const run = async (...args: string[]): Promise<{ code: number; out: string }> => {
      let out = '';
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out += String(chunk);
        return true;
      });
      try {
        return { code: await main(['node', 'xsys', ...args]), out };
      } finally {
        spy.mockRestore();
      }
    };
    const r = await run('conformance', MANIFEST, '--filter', 'pixel-flipping');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/PASS\s+pixel-flipping\/auc/);
    expect(r.out).toContain('2 passed, 0 failed');
    const j = await run('conformance', MANIFEST, '--json');
    expect(j.code).toBe(0);
    expect(JSON.parse(j.out).passed).toBe(12);
    // a failing metrics case makes the command exit non-zero
    const m = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    m.cases = [{ ...m.cases[0], expected: [0, 0] }];
    cpSync(FIX, join(tmp, 'fx2'), { recursive: true });
    writeFileSync(join(tmp, 'fx2', 'manifest.json'), JSON.stringify(m));
    const bad = await run('conformance', join(tmp, 'fx2', 'manifest.json'));
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/FAIL\s+sparseness\/default/);
  });
});
