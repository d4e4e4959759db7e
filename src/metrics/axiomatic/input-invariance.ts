import { defineMetric } from '../core/define.js';
import { InvalidArgumentError } from '../../errors.js';
import { boolParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { explainMany, requireExplain, requireModel } from '../core/batching.js';

/**
 * Kindermans et al. 2017: shifting the input by a constant should not change the explanation. The batch is
 * re-explained at x + inputShift; 1 when max |a(x) − a(x + shift)| ≤ tolerance · max(1, max |a(x)|), else 0.
 * With `compensate: false` (Quantus' behaviour) the same model explains both; with `compensate: true` the shifted
 * input is explained by the model whose first layer absorbs the shift (`ctx.model.withInputShift`), as in the
 * paper: both networks compute the same function, so only the explanation method can break the invariance.
 */
export const inputInvariance = defineMetric({
  name: 'input-invariance',
  category: 'axiomatic',
  direction: 'higher',
  needs: { explain: true },
  description: 'Is the explanation unchanged when a constant is added to the input (Kindermans et al., 2017).',
  defaults: { normalise: 'none', abs: false, inputShift: -1, tolerance: 1e-5, compensate: false },
  async compute(p, ctx, params, out) {
    const shift = numParam('input-invariance', params, 'inputShift');
    let explain = requireExplain('input-invariance', ctx);
    if (boolParam('input-invariance', params, 'compensate')) {
      const model = requireModel('input-invariance', ctx);
      if (!model.withInputShift) throw new InvalidArgumentError('input-invariance.compensate', 'the ModelHandle cannot build a shift-compensated model (no withInputShift)', 'set compensate to false, or use a handle on an ONNX model');
      explain = (await model.withInputShift(shift)).explain;
    }
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
