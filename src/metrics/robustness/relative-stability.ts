import type { Metric } from '../types.js';
import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { argmaxRow, scoreMany, scoreSamples, type ScoreRows } from '../core/batching.js';
import { explainPerturbed, original } from './perturbed-explanations.js';
import { mulberry32 } from '../../seeded-random.js';

/** ‖(u − v) / u‖₂ with u's zeros replaced by eps (Agarwal et al.'s relative change). */
function relativeChange(u: ArrayLike<number>, v: ArrayLike<number>, eps: number): number {
  let s = 0;
  for (let j = 0; j < u.length; j++) {
    const den = u[j] === 0 ? eps : u[j]!;
    s += ((u[j]! - v[j]!) / den) ** 2;
  }
  return Math.sqrt(s);
}

function argmax(r: ScoreRows, row: number): number {
  return argmaxRow(r.data.subarray(row * r.classes, (row + 1) * r.classes));
}

/**
 * Agarwal et al. 2022: the largest relative change of the explanation divided by the relative change of the
 * input (RIS) or of the logits (ROS), max(·, epsMin), over `nrSamples` inputs with U(−r, r) noise. Perturbations
 * that change the predicted class are left out (the paper's condition), unless nanWhenPredictionChanges = false.
 */
export function relativeStabilityMetric(name: string, against: 'input' | 'output', description: string): Metric {
  return defineMetric({
    name,
    category: 'robustness',
    direction: 'lower',
    needs: { explain: true, score: true },
    description,
    defaults: { normalise: 'none', abs: false, nrSamples: 200, lowerBound: 0.02, epsMin: 1e-6, nanWhenPredictionChanges: true },
    async compute(p, ctx, params, out, rand) {
      const n = numParam(name, params, 'nrSamples', { min: 1, integer: true });
      const r = numParam(name, params, 'lowerBound', { min: 0 });
      const eps = numParam(name, params, 'epsMin', { min: 0 });
      const skipChanged = boolParam(name, params, 'nanWhenPredictionChanges');
      // Each noisy input is scored and explained: it is regenerated from its own seed (derived from the metric's
      // stream) instead of being stored, so memory stays at one batch.
      const base0 = Math.floor(rand() * 4294967296);
      const noisy = (i: number, k: number, dst: Float32Array): void => {
        const r2 = mulberry32((base0 ^ Math.imul(i * n + k + 1, 0x9e3779b1)) >>> 0);
        const x = original(p, i).x;
        for (let j = 0; j < p.d; j++) dst[j] = x[j]! + (-r + 2 * r * r2());
      };
      const base = await scoreSamples(name, ctx, p.x, p.shape);
      const pert = await scoreMany(name, ctx, p.shape.slice(1), p.n * n, (k, dst) => noisy(Math.floor(k / n), k % n, dst));
      const best = new Float64Array(p.n).fill(Number.NaN);
      await explainPerturbed(name, p, ctx, params, n,
        (i, k, dst) => noisy(i, k, dst),
        (i, k, x2, a2) => {
          const row = i * n + k;
          if (skipChanged && argmax(pert, row) !== argmax(base, i)) return;
          const { x, a } = original(p, i);
          const num = relativeChange(a, a2, eps);
          const den = against === 'input'
            ? relativeChange(x, x2, eps)
            : relativeChange(base.data.subarray(i * base.classes, (i + 1) * base.classes), pert.data.subarray(row * pert.classes, (row + 1) * pert.classes), eps);
          const v = num / Math.max(den, eps);
          if (!(v <= best[i]!)) best[i] = v;
        },
      );
      for (let i = 0; i < p.n; i++) out.set(i, best[i]!, 'every perturbation changed the predicted class');
    },
  });
}
