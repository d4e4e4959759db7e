import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { baselineFor } from '../core/baseline.js';
import { scoreTargets } from '../core/batching.js';

/**
 * Nguyen & Martínez 2020: a feature group with (near-)zero attribution should not move the output, and one that
 * does not move the output should get none. For each group of `featuresInStep` features (in index order) the
 * variance of the target score over `nrSamples` random replacements of the group is measured; the score counts
 * the groups where "all |a| < eps" and "variance < eps" disagree. Lower = better.
 * (Quantus' version compares index sets built from the attribution values themselves and casts attributions to
 * feature indices; this follows the paper's definition.)
 */
export const nonSensitivity = defineMetric({
  name: 'non-sensitivity',
  category: 'axiomatic',
  direction: 'lower',
  needs: { score: true },
  description: 'Number of feature groups where zero attribution and zero output sensitivity disagree (Nguyen & Martínez, 2020); lower = better.',
  defaults: { normalise: 'batch', abs: true, eps: 1e-5, nrSamples: 1000, featuresInStep: 1, baseline: 'uniform', softmax: true },
  async compute(p, ctx, params, out, rand) {
    const eps = numParam('non-sensitivity', params, 'eps', { min: 0 });
    const samples = numParam('non-sensitivity', params, 'nrSamples', { min: 2, integer: true });
    const step = numParam('non-sensitivity', params, 'featuresInStep', { min: 1, integer: true });
    const softmax = boolParam('non-sensitivity', params, 'softmax');
    const groups = Math.ceil(p.d / step);
    const per = groups * samples;
    const rows = await scoreTargets('non-sensitivity', ctx, p.shape.slice(1), p.n * per, (k, dst) => {
      const i = Math.floor(k / per);
      const g = Math.floor((k % per) / samples);
      const x = sampleOf(p.x, i, p.d);
      dst.set(x);
      const b = baselineFor('non-sensitivity', params.baseline!, x, rand);
      for (let j = g * step; j < Math.min((g + 1) * step, p.d); j++) dst[j] = b[j]!;
      return p.y[i]!;
    }, softmax);
    for (let i = 0; i < p.n; i++) {
      const a = sampleOf(p.a, i, p.d);
      let disagree = 0;
      const vars = new Float64Array(groups);
      for (let g = 0; g < groups; g++) {
        let s = 0;
        let s2 = 0;
        for (let r = 0; r < samples; r++) {
          const v = rows[i * per + g * samples + r]!;
          s += v;
          s2 += v * v;
        }
        const variance = Math.max(0, s2 / samples - (s / samples) ** 2);
        vars[g] = variance;
        let zeroAttr = true;
        for (let j = g * step; j < Math.min((g + 1) * step, p.d); j++) if (Math.abs(a[j]!) >= eps) zeroAttr = false;
        if (zeroAttr !== variance < eps) disagree++;
      }
      out.curve(i, vars);
      out.set(i, disagree);
    }
  },
});
