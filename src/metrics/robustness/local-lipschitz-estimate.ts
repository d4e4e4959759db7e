import { defineMetric } from '../core/define.js';
import { numParam } from '../core/params.js';
import { gaussian } from '../../seeded-random.js';
import { explainPerturbed, original } from './perturbed-explanations.js';

/**
 * Alvarez-Melis & Jaakkola 2018: the largest ‖a(x) − a(x̃)‖₂ / ‖x − x̃‖₂ over `nrSamples` Gaussian
 * perturbations x̃ = x + N(perturbMean, perturbStd²).
 */
export const localLipschitzEstimate = defineMetric({
  name: 'local-lipschitz-estimate',
  category: 'robustness',
  direction: 'lower',
  needs: { explain: true },
  description: 'Largest ‖a(x) − a(x̃)‖ / ‖x − x̃‖ under Gaussian input noise (Alvarez-Melis & Jaakkola, 2018); lower = more robust.',
  defaults: { normalise: 'none', abs: false, nrSamples: 200, perturbStd: 0.1, perturbMean: 0 },
  async compute(p, ctx, params, out, rand) {
    const n = numParam('local-lipschitz-estimate', params, 'nrSamples', { min: 1, integer: true });
    const std = numParam('local-lipschitz-estimate', params, 'perturbStd', { min: 0 });
    const mu = numParam('local-lipschitz-estimate', params, 'perturbMean');
    const best = new Float64Array(p.n).fill(Number.NaN);
    await explainPerturbed('local-lipschitz-estimate', p, ctx, params, n,
      (i, _r, dst) => {
        const x = original(p, i).x;
        for (let j = 0; j < x.length; j++) dst[j] = x[j]! + mu + std * gaussian(rand);
      },
      (i, _r, x2, a2) => {
        const { x, a } = original(p, i);
        let num = 0;
        let den = 0;
        for (let j = 0; j < a.length; j++) {
          num += (a[j]! - a2[j]!) ** 2;
          den += (x[j]! - x2[j]!) ** 2;
        }
        if (den === 0) return;
        const v = Math.sqrt(num / den);
        if (!(v <= best[i]!)) best[i] = v;
      },
    );
    for (let i = 0; i < p.n; i++) out.set(i, best[i]!, 'no perturbation moved the input (perturbStd = 0)');
  },
});
