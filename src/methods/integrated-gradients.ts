/** Integrated Gradients (Sundararajan et al. 2017): the gradient along the straight path from a constant baseline. */
import { averagedGradients } from './averaged-gradients.js';
import { defineMethod } from './define.js';
import { bounds } from './limits.js';

export const integratedGradients = defineMethod({
  name: 'integrated-gradients',
  description: 'the gradient integrated along a straight path from a constant baseline, times input − baseline',
  params: [
    { name: 'steps', type: 'integer', default: 20, ...bounds('integrated-gradients', 'steps'), description: 'points on the path from the baseline to the input (right Riemann sum)' },
    { name: 'baseline', type: 'number', default: 0, ...bounds('integrated-gradients', 'baseline'), description: 'the constant baseline input' },
  ],
  async explain(ctx) {
    const { input, params } = ctx;
    const n = input.dims[0]!;
    const per = input.data.length / n;
    const k = Math.max(1, Math.round(params.steps!));
    const base = params.baseline!;
    const acc = await averagedGradients(ctx, k, (data, offset, sample, j) => {
      const alpha = (j + 1) / k;
      const src = sample * per;
      for (let i = 0; i < per; i++) data[offset + i] = base + alpha * (input.data[src + i]! - base);
    });
    for (let i = 0; i < acc.length; i++) acc[i]! *= input.data[i]! - base;
    return { attribution: { data: acc, dims: [...input.dims] } };
  },
});
