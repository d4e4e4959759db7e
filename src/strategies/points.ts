/**
 * Row-major point sets shared by the strategy modules (SpRAy, PCX, CAVs): n points of d features in one flat
 * Float64Array, so the inner loops stay on contiguous memory and no module needs a matrix class for the hot paths.
 */
import { InvalidArgumentError } from '../errors.js';

export interface Points {
  /** n·d values, point i at [i·d, (i+1)·d). */
  readonly data: Float64Array;
  readonly n: number;
  readonly d: number;
}

/** Copies rows (numbers or typed arrays) into a Points, refusing ragged or non-finite input by name. */
export function toPoints(rows: ArrayLike<ArrayLike<number>>, what = 'points'): Points {
  const n = rows.length;
  if (n === 0) throw new InvalidArgumentError(what, 'no points given');
  const d = rows[0]!.length;
  if (d === 0) throw new InvalidArgumentError(what, 'points have no features');
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    if (r.length !== d) throw new InvalidArgumentError(what, `point ${i} has ${r.length} features, point 0 has ${d}`);
    for (let j = 0; j < d; j++) {
      const v = r[j]!;
      if (!Number.isFinite(v)) throw new InvalidArgumentError(what, `point ${i} feature ${j} is ${v}`, 'remove NaN/Inf values first');
      data[i * d + j] = v;
    }
  }
  return { data, n, d };
}

/** Wraps flat values as n×d points (no copy), checking the size and that every value is finite. */
export function pointsOf(data: Float64Array, n: number, d: number, what = 'points'): Points {
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 1 || d < 1) throw new InvalidArgumentError(what, `bad shape ${n}×${d}`);
  if (data.length !== n * d) throw new InvalidArgumentError(what, `${data.length} values do not make ${n}×${d} points`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new InvalidArgumentError(what, `point ${Math.floor(i / d)} feature ${i % d} is ${data[i]}`, 'remove NaN/Inf values first');
  }
  return { data, n, d };
}

/** Point i as a subarray view. */
export function row(p: Points, i: number): Float64Array {
  return p.data.subarray(i * p.d, (i + 1) * p.d);
}

/** The points at the given indices, copied. */
export function subset(p: Points, indices: readonly number[]): Points {
  const data = new Float64Array(indices.length * p.d);
  indices.forEach((idx, r) => data.set(row(p, idx), r * p.d));
  return { data, n: indices.length, d: p.d };
}

/** Squared Euclidean distance of two equally long vectors. */
export function sqDist(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const t = a[ao + j]! - b[bo + j]!;
    s += t * t;
  }
  return s;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j]! * b[j]!;
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** log Σ exp(v) without overflow. */
export function logSumExp(v: ArrayLike<number>, from = 0, to = v.length): number {
  let m = -Infinity;
  for (let i = from; i < to; i++) if (v[i]! > m) m = v[i]!;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = from; i < to; i++) s += Math.exp(v[i]! - m);
  return m + Math.log(s);
}
