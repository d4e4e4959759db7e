/**
 * The Wilcoxon signed-rank test of paired samples, two-sided, as scipy.stats.wilcoxon computes it with
 * zero_method='zsplit' and correction=False (MetaQuantus' IAC measure):
 * - zero differences are ranked with the others and their ranks split evenly between W+ and W−;
 * - exact null distribution when n ≤ 50 and there are neither zero differences nor tied |differences|
 *   (scipy's 'auto'), otherwise the normal approximation with the tie correction Σ t(t² − 1)/48.
 */

/** Average ranks (1-based) of values, ties sharing the mean of their positions (scipy's rankdata 'average'). */
export function averageRanks(values: ArrayLike<number>): { ranks: Float64Array; tieSizes: number[] } {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  const tieSizes: number[] = [];
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]!] === values[order[i]!]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = r;
    if (j > i) tieSizes.push(j - i + 1);
    i = j + 1;
  }
  return { ranks, tieSizes };
}

/** P(W ≤ k) for W = sum of a random subset of {1..n} (the exact null distribution of W+). */
function exactCdf(n: number, k: number): number {
  const max = (n * (n + 1)) / 2;
  const counts = new Float64Array(max + 1);
  counts[0] = 1;
  for (let r = 1; r <= n; r++) for (let s = max; s >= r; s--) counts[s]! += counts[s - r]!;
  let below = 0;
  for (let s = 0; s <= Math.min(k, max); s++) below += counts[s]!;
  return below / 2 ** n;
}

/** Standard normal survival function, 1 − Φ(z), via the complementary error function. */
function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** erfc with relative error < 1.2e-7 (Numerical Recipes' Chebyshev fit), enough for p-values. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export interface WilcoxonResult {
  /** min(W+, W−). */
  statistic: number;
  pValue: number;
  n: number;
  method: 'exact' | 'approx';
}

/** Two-sided Wilcoxon signed-rank test of x − y. NaN p-value when there are no pairs. */
export function wilcoxon(x: ArrayLike<number>, y: ArrayLike<number>): WilcoxonResult {
  if (x.length !== y.length) throw new Error(`wilcoxon: ${x.length} and ${y.length} values are not paired`);
  const n = x.length;
  if (n === 0) return { statistic: NaN, pValue: NaN, n, method: 'approx' };
  const d = Float64Array.from({ length: n }, (_, i) => x[i]! - y[i]!);
  const abs = d.map(Math.abs);
  const { ranks, tieSizes } = averageRanks(abs);
  let plus = 0;
  let minus = 0;
  let zeros = 0;
  for (let i = 0; i < n; i++) {
    if (d[i]! > 0) plus += ranks[i]!;
    else if (d[i]! < 0) minus += ranks[i]!;
    else {
      zeros++;
      plus += ranks[i]! / 2;
      minus += ranks[i]! / 2;
    }
  }
  const statistic = Math.min(plus, minus);
  if (n <= 50 && zeros === 0 && tieSizes.length === 0) {
    return { statistic, pValue: Math.min(1, 2 * exactCdf(n, Math.floor(statistic))), n, method: 'exact' };
  }
  const mean = (n * (n + 1)) / 4;
  let variance24 = n * (n + 1) * (2 * n + 1);
  for (const t of tieSizes) variance24 -= 0.5 * t * (t * t - 1);
  const se = Math.sqrt(variance24 / 24);
  const z = se > 0 ? (statistic - mean) / se : 0;
  return { statistic, pValue: Math.min(1, 2 * normalSf(Math.abs(z))), n, method: 'approx' };
}
