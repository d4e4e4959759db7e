import { InvalidArgumentError } from '../../errors.js';
import type { Metric } from '../types.js';
import { defineMetric } from '../core/define.js';
import { numParam } from '../core/params.js';
import { norm2 } from '../core/stats.js';
import { explainPerturbed, original } from './perturbed-explanations.js';

/**
 * Yeh et al. 2019: ‖a(x) − a(x̃)‖ / ‖a(x)‖ (Frobenius norms) over `nrSamples` inputs x̃ = x + U(−r, r) noise,
 * r = `lowerBound` (or U(lowerBound, upperBound) when upperBound > 0, as Quantus' uniform_noise), reduced by the
 * max (max-sensitivity) or the mean (avg-sensitivity).
 */
export function sensitivityMetric(name: string, reduce: 'max' | 'mean', description: string): Metric {
  return defineMetric({
    name,
    category: 'robustness',
    direction: 'lower',
    needs: { explain: true },
    description,
    defaults: { normalise: 'none', abs: false, nrSamples: 200, lowerBound: 0.2, upperBound: 0 },
    async compute(p, ctx, params, out, rand) {
      const n = numParam(name, params, 'nrSamples', { min: 1, integer: true });
      const lo = numParam(name, params, 'lowerBound', { min: 0 });
      const hi = numParam(name, params, 'upperBound', { min: 0 });
      if (hi > 0 && hi <= lo) throw new InvalidArgumentError(`${name}.upperBound`, `must exceed lowerBound (${lo}) or be 0`);
      const acc = new Float64Array(p.n).fill(reduce === 'max' ? -Infinity : 0);
      const denom = Float64Array.from({ length: p.n }, (_, i) => norm2(original(p, i).a));
      await explainPerturbed(name, p, ctx, params, n,
        (i, _r, dst) => {
          const x = original(p, i).x;
          for (let j = 0; j < x.length; j++) dst[j] = x[j]! + (hi > 0 ? lo + (hi - lo) * rand() : -lo + 2 * lo * rand());
        },
        (i, _r, _x, a2) => {
          const a = original(p, i).a;
          let s = 0;
          for (let j = 0; j < a.length; j++) s += (a[j]! - a2[j]!) ** 2;
          const v = Math.sqrt(s) / denom[i]!;
          acc[i] = reduce === 'max' ? Math.max(acc[i]!, v) : acc[i]! + v / n;
        },
      );
      for (let i = 0; i < p.n; i++) {
        if (denom[i] === 0) out.undefinedFor(i, 'the attribution is all zero: relative change undefined');
        else out.set(i, acc[i]!);
      }
    },
  });
}

