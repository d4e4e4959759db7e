import { InvalidArgumentError } from '../../errors.js';
import { defineMetric } from '../core/define.js';
import { numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { requireModel } from '../core/batching.js';
import { explainBatch } from './parameter-randomisation.js';

/** Shannon entropy (nats) of the histogram of `a` in `bins` equal bins over [min a, max a]; 0 for a constant map. */
export function histogramEntropy(a: ArrayLike<number>, bins: number): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    lo = Math.min(lo, a[i]!);
    hi = Math.max(hi, a[i]!);
  }
  if (!(hi > lo)) return 0;
  const counts = new Float64Array(bins);
  for (let i = 0; i < a.length; i++) counts[Math.min(bins - 1, Math.floor(((a[i]! - lo) / (hi - lo)) * bins))]! += 1;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / a.length) * Math.log(c / a.length);
  return h;
}

/**
 * Hedström et al. 2024, efficient MPRT: randomise every layer at once and report how much the explanation's
 * complexity (histogram entropy) grows, H(a of the randomised model) / H(a). Higher = the explanation loses its
 * structure when the parameters go, as it should.
 */
export const efficientMprt = defineMetric({
  name: 'efficient-mprt',
  category: 'randomisation',
  direction: 'higher',
  needs: { model: true },
  description: 'Entropy of the explanation of the fully randomised model / entropy of the original (Hedström et al., 2024); higher = better.',
  defaults: { normalise: 'batch', abs: true, nBins: 100, randomSeed: 42 },
  async compute(p, ctx, params, out) {
    const model = requireModel('efficient-mprt', ctx);
    const bins = numParam('efficient-mprt', params, 'nBins', { min: 2, integer: true });
    const seed = numParam('efficient-mprt', params, 'randomSeed', { integer: true });
    if (model.layers.length === 0) throw new InvalidArgumentError('model', 'efficient-mprt: the model has no parameterised layers to randomise');
    const randomised = await model.randomised(model.layers, seed);
    const a = await explainBatch(randomised.explain, p, ctx, params, 'efficient-mprt');
    for (let i = 0; i < p.n; i++) {
      const h0 = histogramEntropy(sampleOf(p.a, i, p.d), bins);
      const h1 = histogramEntropy(sampleOf(a, i, p.d), bins);
      out.curve(i, [h0, h1]);
      if (h0 === 0) out.undefinedFor(i, 'the original explanation is constant (zero entropy)');
      else out.set(i, h1 / h0);
    }
  },
});
