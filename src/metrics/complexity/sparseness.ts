import { defineMetric } from '../core/define.js';
import { sampleOf } from '../core/input.js';

/** Chalasani et al. 2020: the Gini index of the attribution magnitudes (1 = one feature holds all of it). */
export const sparseness = defineMetric({
  name: 'sparseness',
  category: 'complexity',
  direction: 'higher',
  description: 'Gini index of |a| (Chalasani et al., 2020); higher = sparser.',
  defaults: { normalise: 'batch', abs: true },
  compute(p, _ctx, _params, out) {
    for (let i = 0; i < p.n; i++) {
      // Quantus adds 1e-7 so that an all-zero map has a defined (zero) index.
      const a = Float64Array.from(sampleOf(p.a, i, p.d), (v) => v + 1e-7).sort();
      const n = a.length;
      let num = 0;
      let sum = 0;
      for (let k = 0; k < n; k++) {
        num += (2 * (k + 1) - n - 1) * a[k]!;
        sum += a[k]!;
      }
      out.set(i, num / (n * sum), 'attributions sum to zero');
    }
  },
});
