import { InvalidArgumentError } from '../../errors.js';
import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { baselineFor } from '../core/baseline.js';
import { classScore, scoreTargets, scoreSamples } from '../core/batching.js';
import { gridPatches, layoutOf, patchIndices } from '../core/spatial.js';

/**
 * Yeh et al. 2019: remove the grid patches of `patchSize` cumulatively (raster order) and compare, after each
 * step, the prediction change f(x) − f(x̃) with the change the attribution predicts, Σ a·(x − x̃); the score is
 * the mean squared difference, averaged over `nrSamples` repetitions (which differ only for random baselines).
 * `patchSizes` takes several sizes as a comma-separated list ("4,8"); their losses are averaged.
 */
export const infidelity = defineMetric({
  name: 'infidelity',
  category: 'faithfulness',
  direction: 'lower',
  needs: { score: true },
  description: 'Mean squared difference between f(x) − f(x̃) and Σ a·(x − x̃) under cumulative patch removal (Yeh et al., 2019).',
  defaults: { normalise: 'none', abs: false, patchSizes: '4', nrSamples: 10, baseline: 'black', softmax: false },
  async compute(p, ctx, params, out, rand) {
    const reps = numParam('infidelity', params, 'nrSamples', { min: 1, integer: true });
    const softmax = boolParam('infidelity', params, 'softmax');
    const sizes = String(params.patchSizes).split(',').map((s) => Number(s.trim()));
    if (sizes.some((s) => !Number.isInteger(s) || s < 1)) throw new InvalidArgumentError('infidelity.patchSizes', `expected positive integers separated by commas, got '${params.patchSizes}'`);
    const layout = layoutOf(p.shape);
    const grids = sizes.map((s) => gridPatches('infidelity', layout, s).map((c) => patchIndices(layout, c)));
    // One run = one repetition × one patch size: its steps are consecutive inputs.
    const runs: { sample: number; grid: number[][]; offset: number }[] = [];
    let total = 0;
    for (let i = 0; i < p.n; i++) for (let r = 0; r < reps; r++) for (const g of grids) {
      runs.push({ sample: i, grid: g, offset: total });
      total += g.length;
    }
    const predicted = new Float64Array(total);
    const running = new Float32Array(p.d);
    let run = 0;
    let base: Float32Array = new Float32Array(0);
    const rows = await scoreTargets('infidelity', ctx, p.shape.slice(1), total, (k, dst) => {
      while (run + 1 < runs.length && k >= runs[run + 1]!.offset) run++;
      const { sample, grid, offset } = runs[run]!;
      const t = k - offset;
      const xs = sampleOf(p.x, sample, p.d);
      if (t === 0) {
        running.set(xs);
        base = baselineFor('infidelity', params.baseline!, xs, rand);
      }
      for (const j of grid[t]!) running[j] = base[j]!;
      const a = sampleOf(p.a, sample, p.d);
      let s = 0;
      for (let j = 0; j < p.d; j++) s += a[j]! * (xs[j]! - running[j]!);
      predicted[k] = s;
      dst.set(running);
      return p.y[sample]!;
    }, softmax);
    const y0 = await scoreSamples('infidelity', ctx, p.x, p.shape);
    const losses: number[][] = Array.from({ length: p.n }, () => []);
    for (const { sample, grid, offset } of runs) {
      const f0 = classScore(y0, sample, p.y[sample]!, softmax);
      let se = 0;
      for (let t = 0; t < grid.length; t++) se += (f0 - rows[offset + t]! - predicted[offset + t]!) ** 2;
      losses[sample]!.push(se / grid.length);
    }
    for (let i = 0; i < p.n; i++) out.set(i, losses[i]!.reduce((s, v) => s + v, 0) / losses[i]!.length);
  },
});
