import { defineMetric } from '../core/define.js';
import { boolParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';

/** Zhang et al. 2018: 1 when a maximum of the attribution lies inside the ground-truth mask, else 0. */
export const pointingGame = defineMetric({
  name: 'pointing-game',
  category: 'localisation',
  direction: 'higher',
  needs: { masks: true },
  description: 'Is the arg-max of a inside the mask (Zhang et al., 2018); weighted: a hit scores 1 − |S|/|x|.',
  defaults: { normalise: 'batch', abs: false, weighted: false },
  compute(p, _ctx, params, out) {
    const weighted = boolParam('pointing-game', params, 'weighted');
    for (let i = 0; i < p.n; i++) {
      const a = sampleOf(p.a, i, p.d);
      const s = sampleOf(p.s!, i, p.d);
      let max = -Infinity;
      for (const v of a) max = Math.max(max, v);
      // Every position that attains the maximum counts (Quantus: any of the arg-max set).
      let hit = false;
      let inside = 0;
      for (let j = 0; j < p.d; j++) {
        if (a[j] === max && s[j]) hit = true;
        inside += s[j]!;
      }
      out.set(i, hit ? (weighted ? 1 - inside / p.d : 1) : 0);
    }
  },
});
