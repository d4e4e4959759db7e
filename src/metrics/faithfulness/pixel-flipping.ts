import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { argsortDesc } from '../core/stats.js';
import { baselineFor } from '../core/baseline.js';
import { scoreTargets } from '../core/batching.js';
import { curveScore } from '../core/curves.js';

/**
 * Bach et al. 2015: remove features in order of decreasing attribution, `featuresInStep` at a time and
 * cumulatively, and record the target score after each step. A faithful explanation makes the curve fall fast. As in
 * Quantus 0.6 the baseline is taken from the input as it is at each step (a 'mean' baseline drifts).
 */
export const pixelFlipping = defineMetric({
  name: 'pixel-flipping',
  category: 'faithfulness',
  direction: 'lower',
  needs: { score: true },
  description: 'Target score as the most relevant features are replaced by the baseline (Bach et al., 2015); area under that curve, lower = better.',
  defaults: { normalise: 'batch', abs: false, featuresInStep: 1, baseline: 'black', softmax: true, return: 'auc-trapezoid' },
  async compute(p, ctx, params, out, rand) {
    const step = numParam('pixel-flipping', params, 'featuresInStep', { min: 1, integer: true });
    const softmax = boolParam('pixel-flipping', params, 'softmax');
    const steps = Math.ceil(p.d / step);
    const orders = Array.from({ length: p.n }, (_, i) => argsortDesc(sampleOf(p.a, i, p.d)));
    const running = new Float32Array(p.d);
    const rows = await scoreTargets('pixel-flipping', ctx, p.shape.slice(1), p.n * steps, (k, dst) => {
      const i = Math.floor(k / steps);
      const t = k % steps;
      if (t === 0) running.set(sampleOf(p.x, i, p.d));
      const order = orders[i]!;
      const base = baselineFor('pixel-flipping', params.baseline!, running, rand);
      for (let j = t * step; j < Math.min((t + 1) * step, p.d); j++) running[order[j]!] = base[order[j]!]!;
      dst.set(running);
      return p.y[i]!;
    }, softmax);
    for (let i = 0; i < p.n; i++) {
      const curve = new Float64Array(steps);
      for (let t = 0; t < steps; t++) curve[t] = rows[i * steps + t]!;
      out.curve(i, curve);
      out.set(i, curveScore('pixel-flipping', params, curve));
    }
  },
});
