import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { curveScore } from '../core/curves.js';
import { layoutOf } from '../core/spatial.js';
import { blockGrid, blockSums, scoreBlockRemoval } from '../core/block-grid.js';

/**
 * Montavon et al. 2018, as Quantus 0.6 computes it: the image padded to a multiple of `patchSize` (half before, half
 * after) is cut into non-overlapping blocks, and all of them are removed cumulatively in order of decreasing
 * attribution sum from the edge-padded image; the curve holds the target score f(x̃) after each removal. It should
 * fall fast. The baseline is taken from the padded image as it is at each step.
 */
export const selectivity = defineMetric({
  name: 'selectivity',
  category: 'faithfulness',
  direction: 'lower',
  needs: { score: true },
  description: 'Target score as the most relevant grid patches are removed (Montavon et al., 2018); area under that curve, lower = better.',
  defaults: { normalise: 'batch', abs: false, patchSize: 8, baseline: 'black', softmax: true, return: 'auc-trapezoid' },
  async compute(p, ctx, params, out, rand) {
    const size = numParam('selectivity', params, 'patchSize', { min: 1, integer: true });
    const softmax = boolParam('selectivity', params, 'softmax');
    const grid = blockGrid('selectivity', layoutOf(p.shape), size);
    const P = grid.blocks.length;
    const orders = Array.from({ length: p.n }, (_, i) => {
      const sums = blockSums(grid, sampleOf(p.a, i, p.d));
      // numpy's argsort(−sums); ties by block index.
      return Int32Array.from(grid.blocks.keys()).sort((u, v) => sums[v]! - sums[u]! || u - v);
    });
    const rows = await scoreBlockRemoval('selectivity', ctx, grid, p, orders, P, params.baseline!, rand, softmax);
    for (let i = 0; i < p.n; i++) {
      const curve = Float64Array.from({ length: P }, (_, t) => rows[i * P + t]!);
      out.curve(i, curve);
      out.set(i, curveScore('selectivity', params, curve));
    }
  },
});
