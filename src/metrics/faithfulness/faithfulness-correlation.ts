import { InvalidArgumentError } from '../../errors.js';
import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { baselineFor } from '../core/baseline.js';
import { classScore, scoreTargets, scoreSamples } from '../core/batching.js';
import { replaceRandomSubset } from '../core/sample.js';
import { pearson } from '../core/stats.js';

/**
 * Bhatt et al. 2020: over `nrRuns` random subsets of `subsetSize` features set to the baseline, the Pearson
 * correlation between the subset's attribution sum and the drop of the target score.
 */
export const faithfulnessCorrelation = defineMetric({
  name: 'faithfulness-correlation',
  category: 'faithfulness',
  direction: 'higher',
  needs: { score: true },
  description: 'Pearson correlation of Σ a over random subsets with f(x) − f(x with the subset removed) (Bhatt et al., 2020).',
  defaults: { normalise: 'batch', abs: false, nrRuns: 100, subsetSize: 224, baseline: 'black', softmax: false },
  async compute(p, ctx, params, out, rand) {
    const runs = numParam('faithfulness-correlation', params, 'nrRuns', { min: 2, integer: true });
    const size = numParam('faithfulness-correlation', params, 'subsetSize', { min: 1, integer: true });
    const softmax = boolParam('faithfulness-correlation', params, 'softmax');
    if (size > p.d) throw new InvalidArgumentError('faithfulness-correlation.subsetSize', `subset size ${size} exceeds the ${p.d} features of a sample`, `choose subsetSize ≤ ${p.d}`);
    const base = await scoreSamples('faithfulness-correlation', ctx, p.x, p.shape);
    const sums = new Float64Array(p.n * runs);
    const rows = await scoreTargets('faithfulness-correlation', ctx, p.shape.slice(1), p.n * runs, (k, dst) => {
      const i = Math.floor(k / runs);
      const xs = sampleOf(p.x, i, p.d);
      const b = baselineFor('faithfulness-correlation', params.baseline!, xs, rand);
      const a = sampleOf(p.a, i, p.d);
      dst.set(xs);
      sums[k] = replaceRandomSubset(dst, b, a, size, rand);
      return p.y[i]!;
    }, softmax);
    for (let i = 0; i < p.n; i++) {
      const y0 = classScore(base, i, p.y[i]!, softmax);
      const deltas = Float64Array.from({ length: runs }, (_, r) => y0 - rows[i * runs + r]!);
      out.set(i, pearson(sums.subarray(i * runs, (i + 1) * runs), deltas), 'constant attribution sums or score changes: correlation undefined');
    }
  },
});
