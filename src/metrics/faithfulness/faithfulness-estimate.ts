import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { baselineFor } from '../core/baseline.js';
import { classScore, scoreTargets, scoreSamples } from '../core/batching.js';
import { argsortDesc, pearson } from '../core/stats.js';

/**
 * Alvarez-Melis & Jaakkola 2018: remove each group of `featuresInStep` features on its own (not cumulatively),
 * in order of decreasing attribution, and correlate the group's attribution with the drop of the target score.
 */
export const faithfulnessEstimate = defineMetric({
  name: 'faithfulness-estimate',
  category: 'faithfulness',
  direction: 'higher',
  needs: { score: true },
  description: 'Pearson correlation of a_i with f(x) − f(x with feature group i removed) (Alvarez-Melis & Jaakkola, 2018).',
  defaults: { normalise: 'batch', abs: false, featuresInStep: 1, baseline: 'black', softmax: true },
  async compute(p, ctx, params, out, rand) {
    const step = numParam('faithfulness-estimate', params, 'featuresInStep', { min: 1, integer: true });
    const softmax = boolParam('faithfulness-estimate', params, 'softmax');
    const steps = Math.ceil(p.d / step);
    const base = await scoreSamples('faithfulness-estimate', ctx, p.x, p.shape);
    const orders = Array.from({ length: p.n }, (_, i) => argsortDesc(sampleOf(p.a, i, p.d)));
    const baselines = Array.from({ length: p.n }, (_, i) => baselineFor('faithfulness-estimate', params.baseline!, sampleOf(p.x, i, p.d), rand));
    const sums = new Float64Array(p.n * steps);
    const rows = await scoreTargets('faithfulness-estimate', ctx, p.shape.slice(1), p.n * steps, (k, dst) => {
      const i = Math.floor(k / steps);
      const t = k % steps;
      const a = sampleOf(p.a, i, p.d);
      dst.set(sampleOf(p.x, i, p.d));
      let s = 0;
      for (let j = t * step; j < Math.min((t + 1) * step, p.d); j++) {
        const f = orders[i]![j]!;
        dst[f] = baselines[i]![f]!;
        s += a[f]!;
      }
      sums[k] = s;
      return p.y[i]!;
    }, softmax);
    for (let i = 0; i < p.n; i++) {
      const y0 = classScore(base, i, p.y[i]!, softmax);
      const deltas = Float64Array.from({ length: steps }, (_, t) => y0 - rows[i * steps + t]!);
      out.set(i, pearson(sums.subarray(i * steps, (i + 1) * steps), deltas), 'constant attributions or score changes: correlation undefined');
    }
  },
});
