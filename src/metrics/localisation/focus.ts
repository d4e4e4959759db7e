import { defineMetric } from '../core/define.js';
import { sampleOf } from '../core/input.js';
import { maskMass } from '../core/mask.js';

/**
 * Arias-Duart et al. 2022: on a mosaic of images, the share of positive relevance that falls on the tiles of the
 * target class. The mask marks those tiles (Quantus passes a flag per quadrant; a mask is the general form and
 * also fits mosaics that are not 2×2).
 */
export const focus = defineMetric({
  name: 'focus',
  category: 'localisation',
  direction: 'higher',
  needs: { masks: true },
  description: 'Positive relevance on the target-class tiles of a mosaic / all positive relevance (Arias-Duart et al., 2022); s marks the tiles.',
  defaults: { normalise: 'batch', abs: false },
  compute(p, _ctx, _params, out) {
    for (let i = 0; i < p.n; i++) {
      const a = sampleOf(p.a, i, p.d);
      const s = sampleOf(p.s!, i, p.d);
      const { inside, total } = maskMass(a, s, true);
      if (total === 0) out.undefinedFor(i, 'no positive relevance');
      else out.set(i, inside / total);
    }
  },
});
