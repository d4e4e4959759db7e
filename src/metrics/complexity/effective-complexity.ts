import { defineMetric } from '../core/define.js';
import { numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';

/** Nguyen & Martínez 2020: the number of features whose |a| exceeds eps. */
export const effectiveComplexity = defineMetric({
  name: 'effective-complexity',
  category: 'complexity',
  direction: 'lower',
  description: 'Count of features with |a| > eps (Nguyen & Martínez, 2020); lower = less complex.',
  defaults: { normalise: 'batch', abs: true, eps: 1e-5 },
  compute(p, _ctx, params, out) {
    const eps = numParam('effective-complexity', params, 'eps', { min: 0 });
    for (let i = 0; i < p.n; i++) {
      let count = 0;
      for (const v of sampleOf(p.a, i, p.d)) if (Math.abs(v) > eps) count++;
      out.set(i, count);
    }
  },
});
