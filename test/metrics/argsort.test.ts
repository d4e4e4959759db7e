import { describe, expect, it } from 'vitest';
import { argsortAsc, argsortDesc } from '../../src/metrics/core/stats.js';
import { mulberry32 } from '../../src/seeded-random.js';

/** The definition: a stable comparator sort, ties in index order, −0 equal to +0. */
function reference(a: ArrayLike<number>, desc: boolean): number[] {
  const idx = Array.from({ length: a.length }, (_, i) => i);
  return idx.sort((i, j) => (desc ? a[j]! - a[i]! : a[i]! - a[j]!) || i - j);
}

describe('argsort', () => {
  it('orders a small hand case with ties, zeros of both signs and infinities', () => {
    const a = [0.5, -0, 3, 0, -2, 3, Infinity, -Infinity, 0.5];
    expect(Array.from(argsortDesc(a))).toEqual([6, 2, 5, 0, 8, 1, 3, 4, 7]);
    expect(Array.from(argsortAsc(a))).toEqual([7, 4, 1, 3, 0, 8, 2, 5, 6]);
  });

  it('equals the stable comparator sort on random float32/float64 data with many ties', () => {
    const rand = mulberry32(7);
    for (const n of [0, 1, 2, 17, 784, 5000]) {
      const f64 = Float64Array.from({ length: n }, () => (rand() - 0.5) * 10 ** Math.floor(rand() * 6 - 3));
      const f32 = Float32Array.from({ length: n }, () => Math.round((rand() - 0.5) * 20) / 4);
      for (const a of [f64, f32]) {
        expect(Array.from(argsortDesc(a))).toEqual(reference(a, true));
        expect(Array.from(argsortAsc(a))).toEqual(reference(a, false));
      }
    }
  });
});
