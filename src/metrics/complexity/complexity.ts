import { defineMetric } from '../core/define.js';
import { sampleOf } from '../core/input.js';

/** Bhatt et al. 2020: entropy of the fractional contribution of each feature, −Σ p ln p with p = |a| / Σ|a|. */
export const complexity = defineMetric({
  name: 'complexity',
  category: 'complexity',
  direction: 'lower',
  description: 'Entropy of |a| / Σ|a| (Bhatt et al., 2020); lower = less complex.',
  defaults: { normalise: 'batch', abs: true },
  compute(p, _ctx, _params, out) {
    for (let i = 0; i < p.n; i++) {
      const a = sampleOf(p.a, i, p.d);
      let total = 0;
      for (const v of a) total += Math.abs(v);
      if (total === 0) {
        out.undefinedFor(i, 'attributions are all zero: no distribution to take the entropy of');
        continue;
      }
      let h = 0;
      for (const v of a) {
        const q = Math.abs(v) / total;
        h -= q * Math.log(q + 1e-12);
      }
      out.set(i, h);
    }
  },
});
