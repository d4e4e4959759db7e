import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMetricsManifest, onnxScoreFn, runMetricsConformance } from '../../src/conformance/metrics.js';
import { readNpy, toFloat32 } from '../../src/io/npy.js';
import { fixtureWeights, linearScore } from './helpers.js';

const FIX = 'test/fixtures/metrics-conformance';
const MANIFEST = `${FIX}/manifest.json`;

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

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

  it('xsys conformance runs a metrics manifest end to end', () => {
    const main = 'dist/src/cli/main.js';
    if (!existsSync(main) || statSync(main).mtimeMs < newestMtime('src')) {
      execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
    }
    const r = spawnSync(process.execPath, ['bin/xsys.js', 'conformance', MANIFEST, '--filter', 'pixel-flipping'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/PASS\s+pixel-flipping\/auc/);
    expect(r.stdout).toContain('2 passed, 0 failed');
    const j = spawnSync(process.execPath, ['bin/xsys.js', 'conformance', MANIFEST, '--json'], { encoding: 'utf8' });
    expect(JSON.parse(j.stdout).passed).toBe(12);
  });
});
