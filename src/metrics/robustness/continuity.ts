import { defineMetric } from '../core/define.js';
import { numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { baselineFor } from '../core/baseline.js';
import { requireExplain, scoreTargets } from '../core/batching.js';
import { gridPatches, layoutOf, patchIndices } from '../core/spatial.js';
import { mean, spearman } from '../core/stats.js';
import { explainPerturbed } from './perturbed-explanations.js';

/**
 * Montavon et al. 2018: translate the input step by step along x (shifted-in pixels take the baseline), and
 * for every grid patch of `patchSize` correlate (Spearman) the patch's attribution sum with the target logit along
 * that path: a continuous explanation follows the function. Score: mean correlation over the patches where it is
 * defined (patches whose relevance never changes are skipped).
 */
export const continuity = defineMetric({
  name: 'continuity',
  category: 'robustness',
  direction: 'higher',
  needs: { explain: true, score: true },
  description: 'Mean Spearman correlation, over patches, of patch relevance with the logit along an x-translation (Montavon et al., 2018).',
  defaults: { normalise: 'none', abs: true, patchSize: 7, nrSteps: 28, baseline: 'black' },
  async compute(p, ctx, params, out, rand) {
    requireExplain('continuity', ctx);
    const steps = numParam('continuity', params, 'nrSteps', { min: 2, integer: true });
    const size = numParam('continuity', params, 'patchSize', { min: 1, integer: true });
    const l = layoutOf(p.shape);
    const dx = Math.max(1, Math.floor(l.W / steps));
    const cells = gridPatches('continuity', l, size).map((c) => patchIndices(l, c));
    const baselines = Array.from({ length: p.n }, (_, i) => baselineFor('continuity', params.baseline!, sampleOf(p.x, i, p.d), rand));
    const shift = (i: number, step: number, dst: Float32Array): void => {
      const x = sampleOf(p.x, i, p.d);
      const s = step * dx;
      for (let c = 0; c < l.C; c++) for (let r = 0; r < l.H; r++) for (let q = 0; q < l.W; q++) {
        const j = c * l.H * l.W + r * l.W + q;
        dst[j] = q >= s ? x[j - s]! : baselines[i]![j]!;
      }
    };
    const logits = await scoreTargets('continuity', ctx, p.shape.slice(1), p.n * steps, (k, dst) => {
      shift(Math.floor(k / steps), k % steps, dst);
      return p.y[Math.floor(k / steps)]!;
    }, false);
    const patchSums = Array.from({ length: p.n }, () => cells.map(() => new Float64Array(steps)));
    await explainPerturbed('continuity', p, ctx, params, steps, shift, (i, r, _x, a) => {
      cells.forEach((idx, c) => {
        let s = 0;
        for (const j of idx) s += a[j]!;
        patchSums[i]![c]![r] = s;
      });
    });
    for (let i = 0; i < p.n; i++) {
      const logit = logits.subarray(i * steps, (i + 1) * steps);
      const corr = patchSums[i]!.map((s) => spearman(s, logit)).filter((v) => !Number.isNaN(v));
      if (corr.length === 0) out.undefinedFor(i, 'no patch relevance (or the logit) varies along the translation');
      else out.set(i, mean(corr));
    }
  },
});
