import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { baselineFor } from '../core/baseline.js';
import { classScore, scoreTargets, scoreSamples } from '../core/batching.js';
import { replaceRandomSubset } from '../core/sample.js';
import { mean, pearson } from '../core/stats.js';

/**
 * Ancona et al. 2018: for subsets of n features set to the baseline, the Pearson correlation between the
 * subset's attribution sum and the drop of the target score, per sample, over `nrSubsets` random subsets of each
 * size n. Sizes: `nrSizes` values spread evenly from `featuresInStep` to nMaxPercentage·d (multiples of
 * featuresInStep). The curve holds the correlation per size; the score is its mean over the defined sizes.
 * (Quantus correlates across the samples of a batch instead — one value per n, and only for the first batch;
 * the per-sample form is the paper's and keeps one score per sample.)
 */
export const sensitivityN = defineMetric({
  name: 'sensitivity-n',
  category: 'faithfulness',
  direction: 'higher',
  needs: { score: true },
  description: 'Correlation of Σ a over random n-subsets with the score drop, averaged over subset sizes n (Ancona et al., 2018).',
  defaults: { normalise: 'batch', abs: false, nMaxPercentage: 0.8, featuresInStep: 1, nrSizes: 10, nrSubsets: 20, baseline: 'uniform', softmax: true },
  async compute(p, ctx, params, out, rand) {
    const nMax = numParam('sensitivity-n', params, 'nMaxPercentage', { min: 0, max: 1 });
    const step = numParam('sensitivity-n', params, 'featuresInStep', { min: 1, integer: true });
    const nrSizes = numParam('sensitivity-n', params, 'nrSizes', { min: 1, integer: true });
    const nrSubsets = numParam('sensitivity-n', params, 'nrSubsets', { min: 2, integer: true });
    const softmax = boolParam('sensitivity-n', params, 'softmax');
    const maxGroups = Math.max(1, Math.floor((nMax * p.d) / step));
    const sizes = [...new Set(Array.from({ length: Math.min(nrSizes, maxGroups) }, (_, k) => step * (1 + Math.round((k * (maxGroups - 1)) / Math.max(1, Math.min(nrSizes, maxGroups) - 1)))))].map((s) => Math.min(s, p.d));
    const per = sizes.length * nrSubsets;
    const base = await scoreSamples('sensitivity-n', ctx, p.x, p.shape);
    const sums = new Float64Array(p.n * per);
    const rows = await scoreTargets('sensitivity-n', ctx, p.shape.slice(1), p.n * per, (k, dst) => {
      const i = Math.floor(k / per);
      const size = sizes[Math.floor((k % per) / nrSubsets)]!;
      const xs = sampleOf(p.x, i, p.d);
      const a = sampleOf(p.a, i, p.d);
      const b = baselineFor('sensitivity-n', params.baseline!, xs, rand);
      dst.set(xs);
      sums[k] = replaceRandomSubset(dst, b, a, size, rand);
      return p.y[i]!;
    }, softmax);
    for (let i = 0; i < p.n; i++) {
      const y0 = classScore(base, i, p.y[i]!, softmax);
      const curve = sizes.map((_, z) => {
        const off = i * per + z * nrSubsets;
        const deltas = Float64Array.from({ length: nrSubsets }, (_, r) => y0 - rows[off + r]!);
        return pearson(sums.subarray(off, off + nrSubsets), deltas);
      });
      out.curve(i, curve);
      const defined = curve.filter((v) => !Number.isNaN(v));
      out.set(i, defined.length ? mean(defined) : Number.NaN, 'constant attribution sums or score changes at every subset size');
    }
  },
});
