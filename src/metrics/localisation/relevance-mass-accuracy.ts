import { defineMetric } from '../core/define.js';
import { sampleOf } from '../core/input.js';
import { maskMass } from '../core/mask.js';

/** Arras et al. 2021: the share of the total relevance that falls inside the mask. */
export const relevanceMassAccuracy = defineMetric({
  name: 'relevance-mass-accuracy',
  category: 'localisation',
  direction: 'higher',
  needs: { masks: true },
  description: 'Σ a inside the mask / Σ a (Arras et al., 2021).',
  defaults: { normalise: 'batch', abs: false },
  compute(p, _ctx, _params, out) {
    for (let i = 0; i < p.n; i++) {
      const a = sampleOf(p.a, i, p.d);
      const s = sampleOf(p.s!, i, p.d);
      const { inside, total } = maskMass(a, s);
      if (total === 0) out.undefinedFor(i, 'attributions sum to zero');
      else out.set(i, inside / total);
    }
  },
});
