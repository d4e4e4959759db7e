/**
 * Small clustering helpers shared by the component measures (polysemanticity hint) and PURE: the silhouette of a
 * partition under cosine distance, and k-means with k chosen by the best silhouette.
 */
import { InvalidArgumentError } from '../errors.js';
import { kmeans } from '../strategies/kmeans.js';

/** Rows [n, d] of a flat array. */
export interface Rows {
  data: Float32Array | Float64Array;
  n: number;
  d: number;
}

function cosine(a: Rows, i: number, j: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let k = 0; k < a.d; k++) {
    const x = a.data[i * a.d + k]!;
    const y = a.data[j * a.d + k]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * Mean silhouette (Rousseeuw) of labels under cosine distance 1 − cos: in [−1, 1], high when clusters are tight and
 * apart. Points alone in their cluster count 0, as in scikit-learn.
 */
export function silhouette(x: Rows, labels: ArrayLike<number>): number {
  const k = Math.max(...Array.from(labels)) + 1;
  if (k < 2) return 0;
  const sizes = new Array<number>(k).fill(0);
  for (let i = 0; i < x.n; i++) sizes[labels[i]!]!++;
  let total = 0;
  for (let i = 0; i < x.n; i++) {
    const own = labels[i]!;
    if (sizes[own]! <= 1) continue;
    const sums = new Array<number>(k).fill(0);
    for (let j = 0; j < x.n; j++) if (j !== i) sums[labels[j]!]! += 1 - cosine(x, i, j);
    const a = sums[own]! / (sizes[own]! - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && sizes[c]! > 0) b = Math.min(b, sums[c]! / sizes[c]!);
    total += b === Infinity ? 0 : (b - a) / Math.max(a, b, 1e-12);
  }
  return total / x.n;
}

/** Rows scaled to unit L2 norm (k-means on them clusters by direction, i.e. by cosine). */
export function unitRows(x: Rows): Float64Array {
  const out = Float64Array.from(x.data);
  for (let i = 0; i < x.n; i++) {
    let s = 0;
    for (let j = 0; j < x.d; j++) s += out[i * x.d + j]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < x.d; j++) out[i * x.d + j]! *= inv;
  }
  return out;
}

export interface Split {
  k: number;
  labels: number[];
  silhouette: number;
  /** Silhouette of every k tried (k = 2…kMax), when k was chosen. */
  tried: { k: number; silhouette: number }[];
}

/** k-means (seeded) on the unit-normalised rows, k given or chosen among 2…kMax by the best silhouette. */
export function clusterRows(x: Rows, options: { k?: number; kMax?: number; seed?: number } = {}): Split {
  if (x.n < 2) throw new InvalidArgumentError('samples', `need at least 2 samples to cluster, got ${x.n}`);
  const points = { data: unitRows(x), n: x.n, d: x.d };
  const run = (k: number) => {
    const r = kmeans(points, k, { seed: options.seed ?? 0, restarts: 5 });
    const labels = Array.from(r.labels);
    return { k, labels, silhouette: silhouette(x, labels) };
  };
  if (options.k !== undefined) {
    if (!Number.isInteger(options.k) || options.k < 1 || options.k > x.n) throw new InvalidArgumentError('k', `must be an integer in 1…${x.n} (the samples)`);
    return { ...run(options.k), tried: [] };
  }
  const kMax = Math.min(options.kMax ?? 4, x.n - 1);
  const tried = [];
  let best: ReturnType<typeof run> | undefined;
  for (let k = 2; k <= Math.max(2, kMax); k++) {
    const r = run(k);
    tried.push({ k, silhouette: r.silhouette });
    if (!best || r.silhouette > best.silhouette + 1e-12) best = r;
  }
  return { ...best!, tried };
}
