import { defineMetric } from '../core/define.js';
import { boolParam, choiceParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { classScore, scoreSamples } from '../core/batching.js';
import { curveScore } from '../core/curves.js';
import { layoutOf } from '../core/spatial.js';
import { blockGrid, blockSums, scoreBlockRemoval } from '../core/block-grid.js';
import { shuffle } from '../core/sample.js';

/**
 * Samek et al. 2016, as Quantus 0.6 computes it: the image padded to a multiple of `patchSize` (half before, half
 * after) is cut into non-overlapping blocks, ranked by their attribution sum ('morf': most relevant first, 'lerf':
 * least, 'random'), and the first `regionsEvaluation` are removed cumulatively from the edge-padded image; the curve
 * holds f(x) − f(x̃) after each removal (AOPC). The baseline is taken from the padded image as it is at each step
 * (a 'mean' baseline drifts as blocks are removed).
 */
export const regionPerturbation = defineMetric({
  name: 'region-perturbation',
  category: 'faithfulness',
  direction: 'higher',
  needs: { score: true },
  description: 'f(x) − f(x̃) as the most relevant patches are removed cumulatively (Samek et al., 2016); area under that curve, higher = better.',
  defaults: { normalise: 'batch', abs: false, patchSize: 8, order: 'morf', regionsEvaluation: 100, baseline: 'black', softmax: true, return: 'auc-trapezoid' },
  async compute(p, ctx, params, out, rand) {
    const size = numParam('region-perturbation', params, 'patchSize', { min: 1, integer: true });
    const regions = numParam('region-perturbation', params, 'regionsEvaluation', { min: 1, integer: true });
    const order = choiceParam('region-perturbation', params, 'order', ['morf', 'lerf', 'random'] as const);
    const softmax = boolParam('region-perturbation', params, 'softmax');
    const grid = blockGrid('region-perturbation', layoutOf(p.shape), size);
    const steps = Math.min(regions, grid.blocks.length);
    const orders = Array.from({ length: p.n }, (_, i) => {
      const ranked = Int32Array.from(grid.blocks.keys());
      if (order === 'random') return shuffle(ranked, rand);
      const sums = blockSums(grid, sampleOf(p.a, i, p.d));
      // numpy's argsort(−sums) (morf) or argsort(sums) (lerf); ties by block index.
      const sign = order === 'morf' ? -1 : 1;
      return ranked.sort((u, v) => sign * (sums[u]! - sums[v]!) || u - v);
    });
    const base = await scoreSamples('region-perturbation', ctx, p.x, p.shape);
    const rows = await scoreBlockRemoval('region-perturbation', ctx, grid, p, orders, steps, params.baseline!, rand, softmax);
    for (let i = 0; i < p.n; i++) {
      const y0 = classScore(base, i, p.y[i]!, softmax);
      const curve = Float64Array.from({ length: steps }, (_, t) => y0 - rows[i * steps + t]!);
      out.curve(i, curve);
      out.set(i, curveScore('region-perturbation', params, curve));
    }
  },
});
