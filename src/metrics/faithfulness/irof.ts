import { defineMetric } from '../core/define.js';
import { numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { baselineFor } from '../core/baseline.js';
import { classScore, scoreTargets, scoreSamples } from '../core/batching.js';
import { layoutOf } from '../core/spatial.js';
import { trapezoid } from '../core/stats.js';
import { slic } from './superpixels.js';

/**
 * Rieger & Hansen 2020, Iterative Removal Of Features: segment the input into SLIC superpixels, remove them
 * cumulatively in order of decreasing mean attribution, and record the softmax target score relative to the
 * unperturbed one; the score is the area over that curve, len − AUC (higher = the score fell faster).
 */
export const irof = defineMetric({
  name: 'irof',
  category: 'faithfulness',
  direction: 'higher',
  needs: { score: true },
  description: 'Area over the curve of f(x̃)/f(x) as superpixels are removed, most relevant first (Rieger & Hansen, 2020).',
  defaults: { normalise: 'batch', abs: true, baseline: 'mean', nSegments: 100, compactness: 10, iterations: 10 },
  async compute(p, ctx, params, out, rand) {
    const nSeg = numParam('irof', params, 'nSegments', { min: 1, integer: true });
    const compact = numParam('irof', params, 'compactness', { min: 0 });
    const iters = numParam('irof', params, 'iterations', { min: 1, integer: true });
    const layout = layoutOf(p.shape);
    const HW = layout.H * layout.W;
    const segs: number[][][] = [];
    for (let i = 0; i < p.n; i++) {
      const labels = slic(sampleOf(p.x, i, p.d), layout, nSeg, compact, iters);
      // A loop, not Math.max(...labels): one label per pixel overflows the argument stack above ~120k pixels.
      const k = labels.reduce((m, v) => (v > m ? v : m), 0) + 1;
      const groups: number[][] = Array.from({ length: k }, () => []);
      for (let c = 0; c < layout.C; c++) for (let q = 0; q < HW; q++) groups[labels[q]!]!.push(c * HW + q);
      const a = sampleOf(p.a, i, p.d);
      const means = groups.map((g) => g.reduce((s, j) => s + a[j]!, 0) / g.length);
      const order = Array.from(groups.keys()).sort((u, v) => means[v]! - means[u]! || u - v);
      segs.push(order.map((o) => groups[o]!));
    }
    const offsets = [0];
    for (const s of segs) offsets.push(offsets[offsets.length - 1]! + s.length);
    const base = await scoreSamples('irof', ctx, p.x, p.shape);
    const baselines = Array.from({ length: p.n }, (_, i) => baselineFor('irof', params.baseline!, sampleOf(p.x, i, p.d), rand));
    const running = new Float32Array(p.d);
    let sample = 0;
    const rows = await scoreTargets('irof', ctx, p.shape.slice(1), offsets[p.n]!, (k, dst) => {
      while (k >= offsets[sample + 1]!) sample++;
      const t = k - offsets[sample]!;
      if (t === 0) running.set(sampleOf(p.x, sample, p.d));
      for (const j of segs[sample]![t]!) running[j] = baselines[sample]![j]!;
      dst.set(running);
      return p.y[sample]!;
    }, true);
    for (let i = 0; i < p.n; i++) {
      const y0 = classScore(base, i, p.y[i]!, true);
      const curve = Float64Array.from({ length: segs[i]!.length }, (_, t) => rows[offsets[i]! + t]! / y0);
      out.curve(i, curve);
      out.set(i, curve.length - trapezoid(curve));
    }
  },
});
