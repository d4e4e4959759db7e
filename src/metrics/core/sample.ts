/** `k` distinct indices from [0, n) chosen uniformly (partial Fisher–Yates on a seeded PRNG). */
export function chooseSubset(n: number, k: number, rand: () => number, scratch?: Int32Array): Int32Array {
  const idx = scratch && scratch.length === n ? scratch : new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx.slice(0, k);
}

/** Shuffles in place. */
export function shuffle<T extends { length: number; [i: number]: number }>(a: T, rand: () => number): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/**
 * Sets a random subset of `size` features of `dst` (a copy of the sample) to the baseline `b` and returns the
 * attribution mass Σ a over that subset — the pair FaithfulnessCorrelation and SensitivityN correlate.
 */
export function replaceRandomSubset(dst: Float32Array, b: ArrayLike<number>, a: ArrayLike<number>, size: number, rand: () => number): number {
  let s = 0;
  for (const j of chooseSubset(dst.length, size, rand)) {
    dst[j] = b[j]!;
    s += a[j]!;
  }
  return s;
}
