import { InvalidArgumentError } from '../../errors.js';
import type { ParamValue } from '../types.js';

export const BASELINES = ['black', 'white', 'mean', 'uniform', 'random', 'zero'] as const;

/**
 * The values that replace "removed" features of one sample, per feature. As Quantus: black = the sample's min,
 * white = its max, mean = its mean, uniform = U(min, max) per feature, random = U(0, 1) per feature, zero = 0;
 * a number is used as is. Random kinds draw from `rand`, so they are reproducible under a seed.
 */
export function baselineFor(metric: string, kind: ParamValue, x: Float32Array, rand: () => number): Float32Array {
  const out = new Float32Array(x.length);
  if (typeof kind === 'number') return out.fill(kind);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  switch (kind) {
    case 'black':
      return out.fill(min);
    case 'white':
      return out.fill(max);
    case 'mean':
      return out.fill(sum / x.length);
    case 'zero':
      return out;
    case 'uniform':
      for (let i = 0; i < out.length; i++) out[i] = min + (max - min) * rand();
      return out;
    case 'random':
      for (let i = 0; i < out.length; i++) out[i] = rand();
      return out;
    default:
      throw new InvalidArgumentError(`${metric}.baseline`, `unknown baseline ${JSON.stringify(kind)}`, `one of: ${BASELINES.join(', ')}, or a number`);
  }
}
