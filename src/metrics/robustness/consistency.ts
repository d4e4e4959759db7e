import { defineMetric } from '../core/define.js';
import { numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { argmaxRow, scoreSamples } from '../core/batching.js';
import { argsortAsc } from '../core/stats.js';

/**
 * Dasgupta et al. 2022: discretise each explanation to its top-n features with their signs; among the other
 * samples of the batch with the same discrete explanation, the share predicted as the same class.
 * NaN for a sample whose discrete explanation no other sample shares.
 */
export const consistency = defineMetric({
  name: 'consistency',
  category: 'robustness',
  direction: 'higher',
  needs: { score: true },
  description: 'Share of samples with the same top-n-sign explanation that get the same prediction (Dasgupta et al., 2022).',
  defaults: { normalise: 'batch', abs: false, topN: 5 },
  async compute(p, ctx, params, out) {
    const n = Math.min(numParam('consistency', params, 'topN', { min: 1, integer: true }), p.d);
    const labels = Array.from({ length: p.n }, (_, i) => {
      const a = sampleOf(p.a, i, p.d);
      const top = Array.from(argsortAsc(a).slice(p.d - n)).sort((u, v) => u - v);
      return top.map((j) => `${j}${Math.sign(a[j]!)}`).join(',');
    });
    const rows = await scoreSamples('consistency', ctx, p.x, p.shape);
    const pred = Int32Array.from({ length: p.n }, (_, i) => argmaxRow(rows.data.subarray(i * rows.classes, (i + 1) * rows.classes)));
    for (let i = 0; i < p.n; i++) {
      let same = 0;
      let agree = 0;
      for (let j = 0; j < p.n; j++) {
        if (j === i || labels[j] !== labels[i]) continue;
        same++;
        if (pred[j] === pred[i]) agree++;
      }
      if (same === 0) out.undefinedFor(i, 'no other sample in the batch has the same discretised explanation');
      else out.set(i, agree / same);
    }
  },
});
