import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { baselineFor } from '../core/baseline.js';
import { scoreTargets } from '../core/batching.js';
import { curveScore } from '../core/curves.js';
import { gridPatches, layoutOf, patchIndices } from '../core/spatial.js';

/**
 * Montavon et al. 2018: remove the non-overlapping grid patches of `patchSize` cumulatively in order of
 * decreasing attribution sum; the curve holds the target score f(x̃) after each removal. It should fall fast.
 */
export const selectivity = defineMetric({
  name: 'selectivity',
  category: 'faithfulness',
  direction: 'lower',
  needs: { score: true },
  description: 'Target score as the most relevant grid patches are removed (Montavon et al., 2018); area under that curve, lower = better.',
  defaults: { normalise: 'batch', abs: false, patchSize: 8, baseline: 'black', softmax: true, return: 'auc-trapezoid' },
  async compute(p, ctx, params, out, rand) {
    const size = numParam('selectivity', params, 'patchSize', { min: 1, integer: true });
    const softmax = boolParam('selectivity', params, 'softmax');
    const layout = layoutOf(p.shape);
    const cells = gridPatches('selectivity', layout, size).map((c) => patchIndices(layout, c));
    const P = cells.length;
    const orders = Array.from({ length: p.n }, (_, i) => {
      const a = sampleOf(p.a, i, p.d);
      const sums = cells.map((idx) => idx.reduce((s, j) => s + a[j]!, 0));
      return Int32Array.from(cells.keys()).sort((u, v) => sums[u]! - sums[v]! || u - v).reverse();
    });
    const baselines = Array.from({ length: p.n }, (_, i) => baselineFor('selectivity', params.baseline!, sampleOf(p.x, i, p.d), rand));
    const running = new Float32Array(p.d);
    const rows = await scoreTargets('selectivity', ctx, p.shape.slice(1), p.n * P, (k, dst) => {
      const i = Math.floor(k / P);
      const t = k % P;
      if (t === 0) running.set(sampleOf(p.x, i, p.d));
      for (const j of cells[orders[i]![t]!]!) running[j] = baselines[i]![j]!;
      dst.set(running);
      return p.y[i]!;
    }, softmax);
    for (let i = 0; i < p.n; i++) {
      const curve = Float64Array.from({ length: P }, (_, t) => rows[i * P + t]!);
      out.curve(i, curve);
      out.set(i, curveScore('selectivity', params, curve));
    }
  },
});
