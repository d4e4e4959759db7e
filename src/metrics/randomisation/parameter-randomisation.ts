import { InvalidArgumentError } from '../../errors.js';
import type { ExplainFn, Metric, MetricContext, MetricParams } from '../types.js';
import { defineMetric } from '../core/define.js';
import { boolParam, choiceParam, normaliseMode, numParam } from '../core/params.js';
import { preprocessAttributions, sampleOf, type PreparedInput } from '../core/input.js';
import { explainMany, requireModel } from '../core/batching.js';
import { mean, pearson, spearman, ssim } from '../core/stats.js';
import { gaussian } from '../../seeded-random.js';
import { LAYER_ORDERS, layerSteps } from './layer-sweep.js';

export const SIMILARITIES = ['spearman', 'pearson', 'ssim'] as const;

export function similarity(kind: (typeof SIMILARITIES)[number], a: ArrayLike<number>, b: ArrayLike<number>): number {
  return kind === 'spearman' ? spearman(a, b) : kind === 'pearson' ? pearson(a, b) : ssim(a, b);
}

/**
 * Explanations of the whole batch by one ExplainFn, pre-processed like the input attributions. With
 * `smoothSamples` > 0 each explanation is the mean over that many noisy copies x + N(0, σ²), σ = noiseMagnitude ·
 * (max x − min x) per sample (SmoothMPRT's denoising); all copies go through the ExplainFn in batches.
 */
export async function explainBatch(explain: ExplainFn, p: PreparedInput, ctx: MetricContext, params: MetricParams, metric: string, smoothSamples = 0, noiseMagnitude = 0, rand: () => number = Math.random): Promise<Float64Array> {
  const reps = Math.max(1, smoothSamples);
  const sum = new Float32Array(p.n * p.d);
  const sigma = Float64Array.from({ length: p.n }, (_, i) => {
    const x = sampleOf(p.x, i, p.d);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of x) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    return noiseMagnitude * (hi - lo);
  });
  await explainMany(metric, explain, ctx, p.shape.slice(1), p.n * reps,
    (k, dst) => {
      const i = Math.floor(k / reps);
      const x = sampleOf(p.x, i, p.d);
      for (let j = 0; j < p.d; j++) dst[j] = smoothSamples > 0 ? x[j]! + sigma[i]! * gaussian(rand) : x[j]!;
      return p.y[i]!;
    },
    (k, a) => {
      const off = Math.floor(k / reps) * p.d;
      for (let j = 0; j < p.d; j++) sum[off + j]! += a[j]! / reps;
    },
  );
  return preprocessAttributions(sum, p.n, p.d, normaliseMode(metric, params.normalise), boolParam(metric, params, 'abs'));
}

/**
 * The model-parameter randomisation test (Adebayo et al. 2018) and its smoothed variant (Hedström et al. 2024):
 * randomise the model's layers step by step (`layerOrder`), re-explain the batch with each randomised model and
 * measure the similarity of each sample's explanation to the original one. Curves: similarity per step (layer
 * labels in `ctx.model.layers` order of the steps); score: the mean over steps ('mean') or the similarity with
 * the fully randomised model ('last'). Lower = the explanation depends on the parameters, as it should.
 */
export function mprtMetric(name: string, smooth: boolean, description: string): Metric {
  return defineMetric({
    name,
    category: 'randomisation',
    direction: 'lower',
    needs: { model: true, explain: true },
    description,
    defaults: {
      normalise: 'batch',
      abs: true,
      layerOrder: 'top-down',
      similarity: 'spearman',
      randomSeed: 42,
      return: 'mean',
      ...(smooth ? { nrSamples: 50, noiseMagnitude: 0.1 } : {}),
    },
    async compute(p, ctx, params, out, rand) {
      const model = requireModel(name, ctx);
      const order = choiceParam(name, params, 'layerOrder', LAYER_ORDERS);
      const sim = choiceParam(name, params, 'similarity', SIMILARITIES);
      const ret = choiceParam(name, params, 'return', ['mean', 'last'] as const);
      const seed = numParam(name, params, 'randomSeed', { integer: true });
      const reps = smooth ? numParam(name, params, 'nrSamples', { min: 1, integer: true }) : 0;
      const noise = smooth ? numParam(name, params, 'noiseMagnitude', { min: 0 }) : 0;
      const steps = layerSteps(model, order);
      if (steps.length === 0) throw new InvalidArgumentError('model', `${name}: the model has no parameterised layers to randomise`);
      // SmoothMPRT denoises the original explanation too; MPRT compares with the given attributions.
      const reference = smooth ? await explainBatch(model.explain, p, ctx, params, name, reps, noise, rand) : p.a;
      const curves = Array.from({ length: p.n }, () => new Float64Array(steps.length));
      for (let t = 0; t < steps.length; t++) {
        const randomised = await model.randomised(steps[t]!.layers, seed);
        const a = await explainBatch(randomised.explain, p, ctx, params, name, reps, noise, rand);
        for (let i = 0; i < p.n; i++) curves[i]![t] = similarity(sim, sampleOf(reference, i, p.d), sampleOf(a, i, p.d));
      }
      for (let i = 0; i < p.n; i++) {
        out.curve(i, curves[i]!);
        const c = curves[i]!;
        out.set(i, ret === 'last' ? c[c.length - 1]! : mean(c), 'similarity undefined (a constant explanation)');
      }
    },
  });
}
