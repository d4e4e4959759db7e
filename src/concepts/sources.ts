import { InputDataError } from '../errors.js';
import type { Tensor } from '../runtime/tensor.js';
import type { SampleSource } from './references.js';

/** Samples held in memory as one [N, …] array (a loaded .npy or IDX dataset), with optional labels. */
export function arraySource(data: Float32Array, shape: readonly number[], labels?: ArrayLike<number>): SampleSource {
  const n = shape[0] ?? 0;
  const sampleShape = shape.slice(1);
  const per = sampleShape.reduce((a, b) => a * b, 1);
  if (data.length !== n * per) throw new InputDataError(`dataset has ${data.length} values, its shape [${shape.join(', ')}] needs ${n * per}`);
  if (labels && labels.length !== n) throw new InputDataError(`${labels.length} labels for ${n} samples`);
  return {
    size: n,
    sampleShape,
    batch(start: number, count: number): Tensor {
      // A view, not a copy: the statistics pass reads it once.
      return { data: data.subarray(start * per, (start + count) * per), dims: [count, ...sampleShape] };
    },
    ...(labels ? { label: (i: number) => labels[i]! } : {}),
  };
}
