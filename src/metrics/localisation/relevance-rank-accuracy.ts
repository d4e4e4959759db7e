import { defineMetric } from '../core/define.js';
import { sampleOf } from '../core/input.js';
import { argsortAsc } from '../core/stats.js';

/** Arras et al. 2021: of the |S| highest-ranked features, the share inside the mask S. */
export const relevanceRankAccuracy = defineMetric({
  name: 'relevance-rank-accuracy',
  category: 'localisation',
  direction: 'higher',
  needs: { masks: true },
  description: '|top-|S|(a) ∩ S| / |S| (Arras et al., 2021).',
  defaults: { normalise: 'batch', abs: false },
  compute(p, _ctx, _params, out) {
    for (let i = 0; i < p.n; i++) {
      const a = sampleOf(p.a, i, p.d);
      const s = sampleOf(p.s!, i, p.d);
      let k = 0;
      for (const v of s) k += v;
      const order = argsortAsc(a);
      let hits = 0;
      for (let t = p.d - k; t < p.d; t++) hits += s[order[t]!]!;
      out.set(i, hits / k);
    }
  },
});
