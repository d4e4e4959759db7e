import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { baselineFor } from '../core/baseline.js';
import { classScore, scoreMany } from '../core/batching.js';

/**
 * Sundararajan et al. 2017: attributions should add up to f(x) − f(x̄), x̄ the baseline. 1 when
 * |Σa − (f(x) − f(x̄))| ≤ tolerance · max(1, |f(x) − f(x̄)|), else 0. (Quantus compares with float equality,
 * which almost never holds; the gap itself is in `curves` as [Σa, f(x) − f(x̄)].)
 */
export const completeness = defineMetric({
  name: 'completeness',
  category: 'axiomatic',
  direction: 'higher',
  needs: { score: true },
  description: 'Does Σa equal f(x) − f(baseline) within a relative tolerance (Sundararajan et al., 2017).',
  defaults: { normalise: 'none', abs: false, baseline: 'black', softmax: false, tolerance: 1e-2 },
  async compute(p, ctx, params, out, rand) {
    const tol = numParam('completeness', params, 'tolerance', { min: 0 });
    const softmax = boolParam('completeness', params, 'softmax');
    // Rows 2i: x, 2i+1: the baseline.
    const rows = await scoreMany('completeness', ctx, p.shape.slice(1), 2 * p.n, (k, dst) => {
      const i = k >> 1;
      const x = sampleOf(p.x, i, p.d);
      dst.set(k % 2 === 0 ? x : baselineFor('completeness', params.baseline!, x, rand));
    });
    for (let i = 0; i < p.n; i++) {
      let sum = 0;
      for (const v of sampleOf(p.a, i, p.d)) sum += v;
      const delta = classScore(rows, 2 * i, p.y[i]!, softmax) - classScore(rows, 2 * i + 1, p.y[i]!, softmax);
      out.curve(i, [sum, delta]);
      out.set(i, Math.abs(sum - delta) <= tol * Math.max(1, Math.abs(delta)) ? 1 : 0);
    }
  },
});
