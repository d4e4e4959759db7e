import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { baselineFor } from '../core/baseline.js';
import { classScore, scoreTargets, scoreSamples } from '../core/batching.js';
import { argsortAsc, spearman } from '../core/stats.js';

/**
 * Nguyen & Martínez 2020: for each group of `featuresInStep` features (least attributed first), the mean squared
 * change of the target score over `nrSamples` random baseline replacements of that group (scaled by 1/f(x)² when
 * |f(x)| ≥ eps); the score is the Spearman correlation of the groups' attributions with those variances.
 */
export const monotonicityCorrelation = defineMetric({
  name: 'monotonicity-correlation',
  category: 'faithfulness',
  direction: 'higher',
  needs: { score: true },
  description: 'Spearman correlation of a_i with the score variance when feature group i is randomised (Nguyen & Martínez, 2020).',
  defaults: { normalise: 'batch', abs: true, nrSamples: 100, featuresInStep: 1, baseline: 'uniform', eps: 1e-5, softmax: true },
  async compute(p, ctx, params, out, rand) {
    const samples = numParam('monotonicity-correlation', params, 'nrSamples', { min: 1, integer: true });
    const step = numParam('monotonicity-correlation', params, 'featuresInStep', { min: 1, integer: true });
    const eps = numParam('monotonicity-correlation', params, 'eps', { min: 0 });
    const softmax = boolParam('monotonicity-correlation', params, 'softmax');
    const steps = Math.ceil(p.d / step);
    const per = steps * samples;
    const base = await scoreSamples('monotonicity-correlation', ctx, p.x, p.shape);
    const orders = Array.from({ length: p.n }, (_, i) => argsortAsc(sampleOf(p.a, i, p.d)));
    const rows = await scoreTargets('monotonicity-correlation', ctx, p.shape.slice(1), p.n * per, (k, dst) => {
      const i = Math.floor(k / per);
      const t = Math.floor((k % per) / samples);
      const xs = sampleOf(p.x, i, p.d);
      dst.set(xs);
      const b = baselineFor('monotonicity-correlation', params.baseline!, xs, rand);
      for (let j = t * step; j < Math.min((t + 1) * step, p.d); j++) dst[orders[i]![j]!] = b[orders[i]![j]!]!;
      return p.y[i]!;
    }, softmax);
    for (let i = 0; i < p.n; i++) {
      const y0 = classScore(base, i, p.y[i]!, softmax);
      const inv = Math.abs(y0) >= eps ? 1 / (y0 * y0) : 1;
      const a = sampleOf(p.a, i, p.d);
      const atts = new Float64Array(steps);
      const vars = new Float64Array(steps);
      for (let t = 0; t < steps; t++) {
        for (let j = t * step; j < Math.min((t + 1) * step, p.d); j++) atts[t]! += a[orders[i]![j]!]!;
        let s = 0;
        for (let r = 0; r < samples; r++) s += (rows[i * per + t * samples + r]! - y0) ** 2;
        vars[t] = (s / samples) * inv;
      }
      out.set(i, spearman(atts, vars), 'constant attributions or variances: correlation undefined');
    }
  },
});
