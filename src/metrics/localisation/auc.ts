import { defineMetric } from '../core/define.js';
import { sampleOf } from '../core/input.js';
import { rocAuc } from '../core/stats.js';

/** Fawcett 2006: ROC-AUC of the attribution as a detector of the mask's features. */
export const auc = defineMetric({
  name: 'auc',
  category: 'localisation',
  direction: 'higher',
  needs: { masks: true },
  description: 'ROC-AUC of a against the mask (Fawcett, 2006).',
  defaults: { normalise: 'batch', abs: false },
  compute(p, _ctx, _params, out) {
    for (let i = 0; i < p.n; i++) {
      out.set(i, rocAuc(sampleOf(p.a, i, p.d), sampleOf(p.s!, i, p.d)), 'the mask covers the whole input: no negatives for a ROC curve');
    }
  },
});
