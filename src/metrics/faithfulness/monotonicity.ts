import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { baselineFor } from '../core/baseline.js';
import { scoreTargets } from '../core/batching.js';
import { argsortAsc } from '../core/stats.js';

/**
 * Arya et al. 2019: start from the baseline and put the original features back, least attributed first,
 * `featuresInStep` at a time; 1 when the target score never decreases, else 0.
 * (Quantus v0.6 writes the baseline into its reference image instead of x, so its image never changes and the
 * metric always returns true; here the features really are restored.)
 */
export const monotonicity = defineMetric({
  name: 'monotonicity',
  category: 'faithfulness',
  direction: 'higher',
  needs: { score: true },
  description: 'Is the target score non-decreasing as features are added to the baseline, least relevant first (Arya et al., 2019).',
  defaults: { normalise: 'batch', abs: true, featuresInStep: 1, baseline: 'black', softmax: true },
  async compute(p, ctx, params, out, rand) {
    const step = numParam('monotonicity', params, 'featuresInStep', { min: 1, integer: true });
    const softmax = boolParam('monotonicity', params, 'softmax');
    const steps = Math.ceil(p.d / step);
    const orders = Array.from({ length: p.n }, (_, i) => argsortAsc(sampleOf(p.a, i, p.d)));
    const running = new Float32Array(p.d);
    const rows = await scoreTargets('monotonicity', ctx, p.shape.slice(1), p.n * steps, (k, dst) => {
      const i = Math.floor(k / steps);
      const t = k % steps;
      const xs = sampleOf(p.x, i, p.d);
      if (t === 0) running.set(baselineFor('monotonicity', params.baseline!, xs, rand));
      for (let j = t * step; j < Math.min((t + 1) * step, p.d); j++) {
        const f = orders[i]![j]!;
        running[f] = xs[f]!;
      }
      dst.set(running);
      return p.y[i]!;
    }, softmax);
    for (let i = 0; i < p.n; i++) {
      const curve = Float64Array.from({ length: steps }, (_, t) => rows[i * steps + t]!);
      out.curve(i, curve);
      let ok = 1;
      for (let t = 1; t < steps; t++) if (curve[t]! < curve[t - 1]!) ok = 0;
      out.set(i, ok);
    }
  },
});
