/** End-to-end: `xsys spray`, `xsys prototypes`, `xsys tcav` on the Clever-Hans model with IDX files made here. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIdx } from '../../src/data/idx.js';
import { pasteArtefact, readArtefactSpec, trainingHasArtefact } from '../../src/strategies/artefact.js';
import { loadMnist } from '../../examples/clever-hans/findings.js';
import { ensureDist, xsys } from '../helpers/cli.js';

const MODEL = 'examples/clever-hans/clever-hans-cnn.onnx';
const NORM = ['--mean', '0.1307', '--std', '0.3081'];
let tmp: string;

/** Writes images (and labels) as "<name>-images-idx3-ubyte" (+ "<name>-labels-idx1-ubyte", which loadDataset finds). */
function writeSet(name: string, images: Uint8Array, labels?: number[]): string {
  const n = images.length / 784;
  const file = join(tmp, `${name}-images-idx3-ubyte`);
  writeFileSync(file, encodeIdx({ dtype: 'uint8', shape: [n, 28, 28], data: images }));
  if (labels) writeFileSync(join(tmp, `${name}-labels-idx1-ubyte`), encodeIdx({ dtype: 'uint8', shape: [n], data: Uint8Array.from(labels) }));
  return file;
}

const sets: Record<string, string> = {};
let sprayArtefact: number[] = [];

beforeAll(async () => {
  ensureDist();
  tmp = mkdtempSync(join(tmpdir(), 'xsys-strategies-'));
  const spec = readArtefactSpec('examples/clever-hans/artefact.json');
  const d = await loadMnist();
  const of = (labels: Uint8Array, pred: (y: number) => boolean, from: number, count: number) => {
    const out: number[] = [];
    for (let i = from; out.length < count; i++) if (pred(labels[i]!)) out.push(i);
    return out;
  };
  const threes = of(d.test.y, (y) => y === 3, 0, 60);
  sprayArtefact = threes.map((_, k) => (k % 3 === 0 ? 1 : 0));
  sets.spray = writeSet('spray', pasteArtefact(d.test.x, 28, 28, threes, spec, (k) => sprayArtefact[k] === 1), threes.map(() => 3));
  const train = Array.from({ length: 600 }, (_, i) => i);
  const has = trainingHasArtefact(d.train.y, spec);
  sets.train = writeSet('train', pasteArtefact(d.train.x, 28, 28, train, spec, (k) => has[k] === 1), train.map((i) => d.train.y[i]!));
  const test = Array.from({ length: 40 }, (_, i) => 100 + i);
  sets.test = writeSet('test', pasteArtefact(d.test.x, 28, 28, test, spec, () => false));
  sets.cleanThrees = writeSet('threes', pasteArtefact(d.test.x, 28, 28, of(d.test.y, (y) => y === 3, 200, 40), spec, () => false));
  sets.concept = writeSet('concept', pasteArtefact(d.test.x, 28, 28, of(d.test.y, (y) => y !== 3, 2000, 40), spec, () => true));
  sets.random = writeSet('random', pasteArtefact(d.test.x, 28, 28, Array.from({ length: 160 }, (_, i) => 5000 + i), spec, () => false));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function pngSize(file: string): Promise<[number, number]> {
  const m = await sharp(file).metadata();
  return [m.width!, m.height!];
}

describe('xsys spray', async () => {
  it('finds the artefact 3s as their own cluster and writes spray.json, clusters.png, embedding.png', async () => {
    const out = join(tmp, 'spray-out');
    const r = await xsys('spray', MODEL, sets.spray!, '--class', '3', ...NORM, '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('60 heatmaps of class 3 (by label); eigengap suggests 2');
    const j = JSON.parse(readFileSync(join(out, 'spray.json'), 'utf8')) as { suggestedClusters: number; clusters: { size: number; members: { index: number }[]; meanHeatmap: number[] }[]; samples: { cluster: number; x: number }[]; model: { sha256: string } };
    expect(j.suggestedClusters).toBe(2);
    const art = j.clusters.find((c) => c.members.some((m) => sprayArtefact[m.index] === 1))!;
    expect(art.members.every((m) => sprayArtefact[m.index] === 1)).toBe(true);
    expect(art.size).toBe(20);
    expect(j.clusters[0]!.meanHeatmap).toHaveLength(784);
    expect(j.samples).toHaveLength(60);
    expect(j.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await pngSize(join(out, 'clusters.png'))).toEqual([(2 * 28 + 2) * 4, 28 * 4]);
    expect(await pngSize(join(out, 'embedding.png'))).toEqual([320, 320]);
  });
  it('bad input: exit 2 with a message, no stack trace', async () => {
    let r = await xsys('spray', MODEL, sets.spray!, '--class', '7', ...NORM, '-o', join(tmp, 'x'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('only 0 samples of class 7');
    r = await xsys('spray', MODEL, sets.spray!, '--class', '3', '--method', 'magic', '-o', join(tmp, 'x'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--method: must be one of lrp/);
    r = await xsys('spray', MODEL, sets.spray!, '--class', '3', '--neighbors', '0', ...NORM, '-o', join(tmp, 'x'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--neighbors: must be an integer 1–');
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});

describe('xsys prototypes', () => {
  it('fits prototypes per class and assesses test predictions', async () => {
    const out = join(tmp, 'proto-out');
    const r = await xsys('prototypes', MODEL, sets.train!, '--layer', '/Relu_1_output_0', '--max-prototypes', '2', '--covariance', 'diag', '--test', sets.test!, ...NORM, '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(readFileSync(join(out, 'prototypes.json'), 'utf8')) as { classes: { class: number; prototypes: { mean: number[]; closest: { index: number }[]; weight: number }[]; threshold: number }[]; test: { samples: { assessed: boolean; logLikelihood: number; outlier: boolean; prototype: number }[]; outliers: number } };
    expect(j.classes.map((c) => c.class)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const c of j.classes) {
      expect(c.prototypes.length).toBeGreaterThanOrEqual(1);
      expect(c.prototypes[0]!.mean).toHaveLength(16);
      expect(c.prototypes.reduce((a, p) => a + p.weight, 0)).toBeCloseTo(1, 6);
      expect(Number.isFinite(c.threshold)).toBe(true);
    }
    expect(j.test.samples).toHaveLength(40);
    const assessed = j.test.samples.filter((s) => s.assessed);
    expect(assessed.length).toBe(40);
    expect(j.test.outliers).toBe(assessed.filter((s) => s.outlier).length);
    expect(j.test.outliers).toBeLessThan(20);
    expect(await pngSize(join(out, 'prototypes-3.png'))).toEqual([expect.any(Number), 112]);
  });
  it('needs labels', async () => {
    const r = await xsys('prototypes', MODEL, sets.test!, '--layer', '/Relu_1_output_0', ...NORM, '-o', join(tmp, 'y'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('need labels');
  });
});

describe('xsys tcav', async () => {
  it('the artefact concept is significant for class 3; CAVs stored with provenance', async () => {
    const out = join(tmp, 'tcav-out');
    const r = await xsys('tcav', MODEL, sets.cleanThrees!, '--class', '3', '--layer', '/Relu_1_output_0', '--concept', sets.concept!, '--random', sets.random!, '--runs', '6', ...NORM, '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/class 3: TCAV 1\.000/);
    const j = JSON.parse(readFileSync(join(out, 'tcav.json'), 'utf8')) as { significant: boolean; test: { p: number }; runs: { direction: number[]; provenance: { layer: string; model: string; run: number } }[]; randomRuns: unknown[] };
    expect(j.significant).toBe(true);
    expect(j.test.p).toBeLessThan(0.05);
    expect(j.runs).toHaveLength(6);
    expect(j.randomRuns).toHaveLength(6);
    expect(j.runs[0]!.direction).toHaveLength(16 * 14 * 14);
    expect(Math.hypot(...j.runs[0]!.direction)).toBeCloseTo(1, 6);
    expect(j.runs[2]!.provenance).toMatchObject({ layer: '/Relu_1_output_0', run: 2 });
    expect(await pngSize(join(out, 'tcav.png'))).toEqual([240, 240]);
  });
  it('bad input: unknown CAV method, too few runs', async () => {
    let r = await xsys('tcav', MODEL, sets.cleanThrees!, '--class', '3', '--layer', '/Relu_1_output_0', '--concept', sets.concept!, '--random', sets.random!, '--cav', 'lda', ...NORM);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--cav: must be one of pattern, logistic, svm');
    r = await xsys('tcav', MODEL, sets.cleanThrees!, '--class', '3', '--layer', '/Relu_1_output_0', '--concept', sets.concept!, '--random', sets.random!, '--runs', '1', ...NORM);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--runs: must be an integer 2–100');
    r = await xsys('tcav', MODEL, sets.cleanThrees!, '--class', '3', '--layer', 'nope', '--concept', sets.concept!, '--random', sets.random!, ...NORM);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no tensor named 'nope'");
  });
});
