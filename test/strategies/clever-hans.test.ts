/**
 * The Clever-Hans example (examples/clever-hans): a CNN trained with a bright square in 90% of the training 3s. The
 * strategy analyses must find the shortcut: SpRAy puts the artefact heatmaps into their own cluster, PCX flags clean
 * 3s as outliers more often than clean images of other classes, and the artefact's CAV gets a significant TCAV score
 * for class 3.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAll, pcxFinding, sprayFinding, tcavFinding } from '../../examples/clever-hans/findings.js';
import type { ModelExplainer } from '../../src/methods/explainer.js';
import type { ArtefactSpec } from '../../src/strategies/artefact.js';
import type { Mnist } from '../../examples/clever-hans/findings.js';

let ctx: { mx: ModelExplainer; data: Mnist; spec: ArtefactSpec };
beforeAll(async () => {
  ctx = await loadAll();
});

describe('Clever-Hans example', () => {
  it('the model took the shortcut: the square turns other digits into the class (metrics.json, checked here)', async () => {
    const { normalizeMnist, pasteArtefact } = await import('../../src/strategies/artefact.js');
    const idx = Array.from({ length: 200 }, (_, k) => 3000 + k).filter((i) => ctx.data.test.y[i] !== ctx.spec.class);
    const pasted = normalizeMnist(pasteArtefact(ctx.data.test.x, 28, 28, idx, ctx.spec, () => true), idx.length, 28, 28);
    const clean = normalizeMnist(pasteArtefact(ctx.data.test.x, 28, 28, idx, ctx.spec, () => false), idx.length, 28, 28);
    const pred = (s: { data: Float32Array }) => Array.from({ length: idx.length }, (_, i) => {
      const row = Array.from(s.data.subarray(i * 10, i * 10 + 10));
      return row.indexOf(Math.max(...row));
    });
    const flipped = pred(await ctx.mx.scores(pasted)).filter((p) => p === ctx.spec.class).length / idx.length;
    const cleanAsClass = pred(await ctx.mx.scores(clean)).filter((p) => p === ctx.spec.class).length / idx.length;
    expect(flipped).toBeGreaterThan(0.3);
    expect(cleanAsClass).toBeLessThan(0.05);
  });

  it('SpRAy separates the artefact strategy into its own cluster', async () => {
    const f = await sprayFinding(ctx.mx, ctx.data, ctx.spec);
    // 150 heatmaps of 3s, 50 with the square: the eigengap finds two strategies, one of them exactly the artefact 3s.
    expect(f.result.suggestedClusters).toBe(2);
    expect(f.purity).toBeGreaterThanOrEqual(0.95);
    expect(f.recall).toBeGreaterThanOrEqual(0.95);
    // Its mean heatmap is brightest inside the square.
    const mean = f.result.clusters[f.artefactCluster]!.meanHeatmap;
    const peak = mean.indexOf(Math.max(...mean));
    const [r, c] = [Math.floor(peak / 28), peak % 28];
    expect(r).toBeGreaterThanOrEqual(ctx.spec.row - 1);
    expect(c).toBeGreaterThanOrEqual(ctx.spec.col - 1);
  });

  it('PCX flags clean test images of the class as outliers more often than any other class', async () => {
    const f = await pcxFinding(ctx.mx, ctx.data, ctx.spec);
    const cls = ctx.spec.class;
    const others = f.outlierRate.filter((_, k) => k !== cls);
    expect(f.outlierRate[cls]).toBeGreaterThan(Math.max(...others));
    expect(f.outlierRate[cls]).toBeGreaterThan(0.4);
    // The threshold is the 5% quantile of the training log-likelihoods, so other classes sit near the nominal rate.
    expect(others.reduce((a, b) => a + b, 0) / others.length).toBeLessThan(0.2);
    expect(Math.min(...f.tested)).toBeGreaterThan(80);
  });

  it('the artefact CAV gets a significant TCAV score for the class', async () => {
    const f = await tcavFinding(ctx.mx, ctx.data, ctx.spec);
    const r = f.perClass[0]!;
    expect(r.significant).toBe(true);
    expect(r.test.p).toBeLessThan(0.05);
    expect(r.tcav.mean).toBeGreaterThan(0.9);
    expect(r.tcav.mean).toBeGreaterThan(r.random.mean);
    expect(r.alphaTest.p).toBeLessThan(0.05);
    expect(r.runs).toHaveLength(10);
  });
});
