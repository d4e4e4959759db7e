import { InputDataError, InvalidArgumentError } from '../../errors.js';
import type { MetricInput, NormaliseMode } from '../types.js';

/** A validated batch with pre-processed attributions, the form every metric computes on. */
export interface PreparedInput {
  n: number;
  /** Features per sample. */
  d: number;
  shape: readonly number[];
  x: Float32Array;
  y: Int32Array;
  /** Attributions after normalise → abs, in float64 (the statistics are computed in double precision). */
  a: Float64Array;
  /** The masks as 0/1 bytes, when given. */
  s?: Uint8Array;
}

function checkFinite(what: string, data: Float32Array, d: number): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new InputDataError(`${what} of sample ${Math.floor(i / d)} contains ${data[i]} at flat index ${i % d}`, `replace NaN/Inf ${what} before evaluating`);
    }
  }
}

/** Checks shapes, finiteness, targets and masks; throws typed errors naming the offending array and sample. */
export function validateInput(metric: string, input: MetricInput, needsMasks: boolean): { n: number; d: number } {
  const { x, shape, y, a, s } = input;
  if (shape.length < 2 || shape.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new InvalidArgumentError('shape', `[${shape.join(', ')}] is not a batch shape [n, ...]`, 'the first dimension is the batch size');
  }
  const n = shape[0]!;
  const d = shape.slice(1).reduce((p, v) => p * v, 1);
  if (x.length !== n * d) throw new InputDataError(`x has ${x.length} values, shape [${shape.join(', ')}] needs ${n * d}`);
  if (a.length !== x.length) {
    throw new InputDataError(`attributions have ${a.length} values but the inputs have ${x.length} (shape [${shape.join(', ')}])`, 'attributions must have the shape of the input');
  }
  if (y.length !== n) throw new InputDataError(`${y.length} targets for ${n} samples`);
  checkFinite('inputs', x, d);
  checkFinite('attributions', a, d);
  if (needsMasks && !s) throw new InvalidArgumentError('masks', `metric '${metric}' needs binary masks (s)`, 'pass ground-truth masks with the shape of the input');
  if (s) {
    if (s.length !== x.length) throw new InputDataError(`masks have ${s.length} values but the inputs have ${x.length}`, 'masks must have the shape of the input');
    for (let i = 0; i < n; i++) {
      let on = 0;
      for (let j = i * d; j < (i + 1) * d; j++) {
        const v = s[j]!;
        if (v !== 0 && v !== 1) throw new InputDataError(`mask of sample ${i} is not binary: value ${v} at flat index ${j - i * d}`, 'masks must hold only 0 and 1');
        on += v;
      }
      if (needsMasks && on === 0) throw new InputDataError(`mask of sample ${i} is empty`, 'every sample needs a non-empty ground-truth region');
    }
  }
  return { n, d };
}

/**
 * Quantus' pre-processing, in its order: normalise, then abs. 'batch' divides by max |a| over the whole batch
 * (normalise_by_max); 'sample' by each sample's max |a|. An all-zero batch/sample is left at zero rather than
 * divided into NaN: the metrics report such samples as undefined with a reason.
 */
export function preprocessAttributions(a: Float32Array, n: number, d: number, normalise: NormaliseMode, abs: boolean): Float64Array {
  const out = Float64Array.from(a);
  if (normalise === 'batch') {
    let m = 0;
    for (let i = 0; i < out.length; i++) m = Math.max(m, Math.abs(out[i]!));
    if (m > 0) for (let i = 0; i < out.length; i++) out[i] = out[i]! / m;
  } else if (normalise === 'negative') {
    // normalise_by_negative over the whole batch: positives into [0, 1], negatives into [−1, 0], each by its own
    // extreme. Unlike division by max |a| this changes sums of mixed-sign features (region perturbation's patches).
    let hi = 0;
    let lo = 0;
    for (let i = 0; i < out.length; i++) {
      hi = Math.max(hi, out[i]!);
      lo = Math.min(lo, out[i]!);
    }
    for (let i = 0; i < out.length; i++) {
      const v = out[i]!;
      out[i] = v > 0 ? v / hi : v < 0 ? v / -lo : 0;
    }
  } else if (normalise === 'sample') {
    for (let k = 0; k < n; k++) {
      let m = 0;
      for (let i = k * d; i < (k + 1) * d; i++) m = Math.max(m, Math.abs(out[i]!));
      if (m > 0) for (let i = k * d; i < (k + 1) * d; i++) out[i] = out[i]! / m;
    }
  }
  if (abs) for (let i = 0; i < out.length; i++) out[i] = Math.abs(out[i]!);
  return out;
}

export function prepareInput(metric: string, input: MetricInput, opts: { normalise: NormaliseMode; abs: boolean; needsMasks: boolean }): PreparedInput {
  const { n, d } = validateInput(metric, input, opts.needsMasks);
  let s: Uint8Array | undefined;
  if (input.s) {
    s = new Uint8Array(input.s.length);
    for (let i = 0; i < s.length; i++) s[i] = input.s[i]!;
  }
  return { n, d, shape: input.shape, x: input.x, y: input.y, a: preprocessAttributions(input.a, n, d, opts.normalise, opts.abs), s };
}

/** One sample's slice. */
export function sampleOf<T extends Float32Array | Float64Array | Uint8Array>(arr: T, i: number, d: number): T {
  return arr.subarray(i * d, (i + 1) * d) as T;
}
