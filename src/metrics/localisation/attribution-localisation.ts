import { InvalidArgumentError } from '../../errors.js';
import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { maskMass } from '../core/mask.js';

/** Kohlbrenner et al. 2020: the share of attribution inside the mask; `weighted` divides by the mask's share of the input. */
export const attributionLocalisation = defineMetric({
  name: 'attribution-localisation',
  category: 'localisation',
  direction: 'higher',
  needs: { masks: true },
  description: 'Σ a inside the mask / Σ a (Kohlbrenner et al., 2020), optionally weighted by |x| / |S|.',
  defaults: { normalise: 'batch', abs: true, weighted: false, maxSize: 1 },
  compute(p, _ctx, params, out) {
    const weighted = boolParam('attribution-localisation', params, 'weighted');
    const maxSize = numParam('attribution-localisation', params, 'maxSize', { min: 0, max: 1 });
    for (let i = 0; i < p.n; i++) {
      const a = sampleOf(p.a, i, p.d);
      const s = sampleOf(p.s!, i, p.d);
      const { inside, total, size } = maskMass(a, s);
      if (size > maxSize * p.d) {
        throw new InvalidArgumentError('attribution-localisation.maxSize', `the mask of sample ${i} covers ${((100 * size) / p.d).toFixed(1)}% of the input, more than maxSize = ${maxSize}`, 'raise maxSize or use smaller masks');
      }
      if (total === 0) {
        out.undefinedFor(i, 'attributions sum to zero');
        continue;
      }
      const ratio = inside / total;
      out.set(i, weighted ? (ratio * p.d) / size : ratio);
    }
  },
});
