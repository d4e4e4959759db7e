import { defineMetric } from '../core/define.js';
import { numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { argmaxRow, scoreSamples } from '../core/batching.js';

/**
 * Dasgupta et al. 2022: among the other samples of the batch whose explanations are close (Euclidean distance,
 * divided by the largest pairwise distance, ≤ `threshold`), the share predicted as the same class as this one.
 * Undefined (NaN) for a sample with no close neighbour.
 */
export const sufficiency = defineMetric({
  name: 'sufficiency',
  category: 'faithfulness',
  direction: 'higher',
  needs: { score: true },
  description: 'Share of samples with similar explanations that get the same prediction (Dasgupta et al., 2022).',
  defaults: { normalise: 'none', abs: false, threshold: 0.6 },
  async compute(p, ctx, params, out) {
    const threshold = numParam('sufficiency', params, 'threshold', { min: 0 });
    const rows = await scoreSamples('sufficiency', ctx, p.x, p.shape);
    const pred = Int32Array.from({ length: p.n }, (_, i) => argmaxRow(rows.data.subarray(i * rows.classes, (i + 1) * rows.classes)));
    const dist = new Float64Array(p.n * p.n);
    let max = 0;
    for (let i = 0; i < p.n; i++) for (let j = i + 1; j < p.n; j++) {
      const a = sampleOf(p.a, i, p.d);
      const b = sampleOf(p.a, j, p.d);
      let s = 0;
      for (let k = 0; k < p.d; k++) s += (a[k]! - b[k]!) ** 2;
      dist[i * p.n + j] = dist[j * p.n + i] = Math.sqrt(s);
      max = Math.max(max, Math.sqrt(s));
    }
    for (let i = 0; i < p.n; i++) {
      let close = 0;
      let same = 0;
      for (let j = 0; j < p.n; j++) {
        if (j === i) continue;
        if ((max > 0 ? dist[i * p.n + j]! / max : 0) <= threshold) {
          close++;
          if (pred[j] === pred[i]) same++;
        }
      }
      if (close === 0) out.undefinedFor(i, 'no other sample in the batch has a similar explanation');
      else out.set(i, same / close);
    }
  },
});
