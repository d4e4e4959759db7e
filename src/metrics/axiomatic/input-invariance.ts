import { defineMetric } from '../core/define.js';
import { numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { explainMany, requireExplain } from '../core/batching.js';

/**
 * Kindermans et al. 2017: shifting the input by a constant should not change the explanation. The batch is
 * re-explained at x + inputShift; 1 when max |a(x) − a(x + shift)| ≤ tolerance · max(1, max |a(x)|), else 0.
 * As in Quantus, the same model explains both (the paper also shifts the first layer's bias so that the outputs
 * match; a method that passes here is invariant without that compensation).
 */
export const inputInvariance = defineMetric({
  name: 'input-invariance',
  category: 'axiomatic',
  direction: 'higher',
  needs: { explain: true },
  description: 'Is the explanation unchanged when a constant is added to the input (Kindermans et al., 2017).',
  defaults: { normalise: 'none', abs: false, inputShift: -1, tolerance: 1e-5 },
  async compute(p, ctx, params, out) {
    const explain = requireExplain('input-invariance', ctx);
    const shift = numParam('input-invariance', params, 'inputShift');
    const tol = numParam('input-invariance', params, 'tolerance', { min: 0 });
    const gap = new Float64Array(p.n);
    await explainMany('input-invariance', explain, ctx, p.shape.slice(1), p.n,
      (i, dst) => {
        const x = sampleOf(p.x, i, p.d);
        for (let j = 0; j < p.d; j++) dst[j] = x[j]! + shift;
        return p.y[i]!;
      },
      (i, a2) => {
        const a = sampleOf(p.a, i, p.d);
        let g = 0;
        let m = 0;
        for (let j = 0; j < p.d; j++) {
          g = Math.max(g, Math.abs(a[j]! - a2[j]!));
          m = Math.max(m, Math.abs(a[j]!));
        }
        gap[i] = g / Math.max(1, m);
      },
    );
    for (let i = 0; i < p.n; i++) {
      out.curve(i, [gap[i]!]);
      out.set(i, gap[i]! <= tol ? 1 : 0);
    }
  },
});
