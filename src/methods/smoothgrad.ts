/** SmoothGrad (Smilkov et al. 2017), as Zennit computes it: the gradient averaged over noisy copies of the input. */
import { averagedGradients } from './averaged-gradients.js';
import { defineMethod } from './define.js';
import { gaussian, mulberry32 } from '../seeded-random.js';

export const smoothgrad = defineMethod({
  name: 'smoothgrad',
  description: 'the gradient averaged over noisy copies of the input (the last copy noise-free, as Zennit)',
  params: [
    { name: 'noiseLevel', type: 'number', default: 0.1, min: 0, max: 10, description: 'noise standard deviation, as a fraction of each sample\'s value range' },
    { name: 'samples', type: 'integer', default: 20, min: 1, max: 256, description: 'noisy copies averaged per input' },
    { name: 'seed', type: 'integer', default: 0, min: 0, max: 2 ** 32 - 1, description: 'random seed of the noise' },
  ],
  async explain(ctx) {
    const { input, params } = ctx;
    const n = input.dims[0]!;
    const per = input.data.length / n;
    const k = Math.max(1, Math.round(params.samples!));
    const rand = mulberry32(params.seed ?? 0);
    const stds = new Float32Array(n);
    for (let s = 0; s < n; s++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < per; i++) {
        const v = input.data[s * per + i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      stds[s] = (params.noiseLevel ?? 0) * (hi - lo);
    }
    const acc = await averagedGradients(ctx, k, (data, offset, sample, j) => {
      // As Zennit: the last of the samples is noise-free.
      const noisy = j < k - 1;
      const src = sample * per;
      for (let i = 0; i < per; i++) data[offset + i] = input.data[src + i]! + (noisy ? gaussian(rand) * stds[sample]! : 0);
    });
    return { attribution: { data: acc, dims: [...input.dims] } };
  },
});
