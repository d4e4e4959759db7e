import { InvalidArgumentError } from '../../errors.js';
import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { argsortAsc } from '../core/stats.js';

/** Theiner et al. 2021: the share of the k highest-attributed features that lie inside the mask. */
export const topKIntersection = defineMetric({
  name: 'top-k-intersection',
  category: 'localisation',
  direction: 'higher',
  needs: { masks: true },
  description: '|top-k(a) ∩ S| / k (Theiner et al., 2021); conceptInfluence scales by |x| / |S|.',
  defaults: { normalise: 'batch', abs: false, k: 1000, conceptInfluence: false },
  compute(p, _ctx, params, out) {
    const k = numParam('top-k-intersection', params, 'k', { min: 1, integer: true });
    const ci = boolParam('top-k-intersection', params, 'conceptInfluence');
    if (k > p.d) throw new InvalidArgumentError('top-k-intersection.k', `k = ${k} exceeds the ${p.d} features of a sample`, `choose k ≤ ${p.d}`);
    for (let i = 0; i < p.n; i++) {
      const a = sampleOf(p.a, i, p.d);
      const s = sampleOf(p.s!, i, p.d);
      // Ascending stable order, last k = the top k (ties resolved as numpy's stable argsort would).
      const order = argsortAsc(a);
      let hits = 0;
      for (let t = p.d - k; t < p.d; t++) hits += s[order[t]!]!;
      let score = hits / k;
      if (ci) {
        let size = 0;
        for (const v of s) size += v;
        score *= p.d / size;
      }
      out.set(i, score);
    }
  },
});
