import { defineMetric } from '../core/define.js';
import { numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { predictMany } from '../core/batching.js';
import { layoutOf } from '../core/spatial.js';
import { argsortDesc, mean } from '../core/stats.js';
import { noisyLinearImputation } from './imputation.js';

/**
 * Rong et al. 2022, RemOve And Debias: for each percentage p in percentStart, +percentStep, … < 100, impute the
 * top p% features (most relevant first) by noisy linear imputation and check whether the model still predicts
 * the target; the curve holds 1/0 per percentage and the score is its mean (lower = the explanation found the
 * evidence). Every percentage is evaluated for every sample (Quantus scores only the first batch).
 */
export const road = defineMetric({
  name: 'road',
  category: 'faithfulness',
  direction: 'lower',
  needs: { score: true },
  description: 'Share of removal levels (top p% imputed) at which the prediction survives (Rong et al., 2022); lower = better.',
  defaults: { normalise: 'batch', abs: false, noise: 0.01, percentStart: 1, percentStep: 2 },
  async compute(p, ctx, params, out, rand) {
    const noise = numParam('road', params, 'noise', { min: 0 });
    const start = numParam('road', params, 'percentStart', { min: 0, max: 100 });
    const stepP = numParam('road', params, 'percentStep', { min: 1e-9 });
    const percents: number[] = [];
    for (let q = start; q < 100; q += stepP) percents.push(q);
    const layout = layoutOf(p.shape);
    const P = percents.length;
    const orders = Array.from({ length: p.n }, (_, i) => argsortDesc(sampleOf(p.a, i, p.d)));
    const removed = new Uint8Array(p.d);
    const predicted = await predictMany('road', ctx, p.shape.slice(1), p.n * P, (k, dst) => {
      const i = Math.floor(k / P);
      const count = Math.floor((p.d * percents[k % P]!) / 100);
      removed.fill(0);
      for (let j = 0; j < count; j++) removed[orders[i]![j]!] = 1;
      dst.set(sampleOf(p.x, i, p.d));
      noisyLinearImputation(dst, layout, removed, noise, rand);
    });
    for (let i = 0; i < p.n; i++) {
      const curve = Float64Array.from({ length: P }, (_, t) => (predicted[i * P + t] === p.y[i] ? 1 : 0));
      out.curve(i, curve);
      out.set(i, mean(curve));
    }
  },
});
