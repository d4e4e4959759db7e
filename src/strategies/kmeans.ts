/**
 * k-means with greedy k-means++ seeding (Arthur & Vassilvitskii; the greedy variant tries 2 + ⌊ln k⌋ candidates per
 * centre and keeps the one that lowers the potential most) and Lloyd iterations, best of several seeded restarts.
 * Used on the spectral embedding (SpRAy) and to initialise Gaussian mixtures (PCX).
 */
import { InvalidArgumentError } from '../errors.js';
import { mulberry32 } from '../seeded-random.js';
import { type Points, sqDist } from './points.js';

export interface KMeansOptions {
  /** Independent seeded restarts; the one with the lowest inertia wins (default 10). */
  restarts?: number;
  maxIterations?: number;
  /** Stop when no centre moves by more than tol² in squared distance (default 1e-10 of the data's variance scale). */
  tol?: number;
  seed?: number;
}

export interface KMeansResult {
  centers: Float64Array;
  labels: Int32Array;
  /** Sum of squared distances of the points to their centres. */
  inertia: number;
  iterations: number;
}

/** Greedy k-means++ seeding: indices of the chosen points, reproducible for a given random source. */
export function kmeansPlusPlus(p: Points, k: number, rand: () => number): number[] {
  const { n, d, data } = p;
  if (!Number.isInteger(k) || k < 1 || k > n) throw new InvalidArgumentError('k', `must be 1–${n} (number of points), got ${k}`);
  const trials = 2 + Math.floor(Math.log(k));
  const chosen = [Math.floor(rand() * n)];
  const closest = new Float64Array(n);
  for (let i = 0; i < n; i++) closest[i] = sqDist(data, i * d, data, chosen[0]! * d, d);
  let potential = closest.reduce((a, b) => a + b, 0);
  const cand = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let bestIdx = -1;
    let bestPot = Infinity;
    let bestDist: Float64Array | undefined;
    for (let t = 0; t < trials; t++) {
      // Sample proportionally to the squared distance to the nearest chosen centre.
      let r = rand() * potential;
      let idx = 0;
      for (; idx < n - 1; idx++) {
        r -= closest[idx]!;
        if (r <= 0) break;
      }
      if (potential === 0) idx = Math.floor(rand() * n);
      let pot = 0;
      for (let i = 0; i < n; i++) {
        const v = Math.min(closest[i]!, sqDist(data, i * d, data, idx * d, d));
        cand[i] = v;
        pot += v;
      }
      if (pot < bestPot) {
        bestPot = pot;
        bestIdx = idx;
        bestDist = Float64Array.from(cand);
      }
    }
    chosen.push(bestIdx);
    closest.set(bestDist!);
    potential = bestPot;
  }
  return chosen;
}

/** Assigns each point to its nearest centre; returns the inertia. */
export function assign(p: Points, centers: Float64Array, k: number, labels: Int32Array): number {
  const { n, d, data } = p;
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bd = Infinity;
    for (let c = 0; c < k; c++) {
      const v = sqDist(data, i * d, centers, c * d, d);
      if (v < bd) {
        bd = v;
        best = c;
      }
    }
    labels[i] = best;
    inertia += bd;
  }
  return inertia;
}

function lloyd(p: Points, k: number, init: number[], maxIterations: number, tol: number): KMeansResult {
  const { n, d, data } = p;
  const centers = new Float64Array(k * d);
  init.forEach((idx, c) => centers.set(data.subarray(idx * d, (idx + 1) * d), c * d));
  const labels = new Int32Array(n);
  let inertia = assign(p, centers, k, labels);
  let it = 0;
  for (; it < maxIterations; it++) {
    const next = new Float64Array(k * d);
    const counts = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const c = labels[i]!;
      counts[c]! += 1;
      for (let j = 0; j < d; j++) next[c * d + j]! += data[i * d + j]!;
    }
    let shift = 0;
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) {
        // An empty cluster keeps its centre (it cannot be placed better without reseeding, which would break determinism).
        next.set(centers.subarray(c * d, (c + 1) * d), c * d);
        continue;
      }
      for (let j = 0; j < d; j++) next[c * d + j]! /= counts[c]!;
      shift = Math.max(shift, sqDist(next, c * d, centers, c * d, d));
    }
    centers.set(next);
    const prev = inertia;
    inertia = assign(p, centers, k, labels);
    if (shift <= tol || prev - inertia <= 0) {
      it++;
      break;
    }
  }
  return { centers, labels, inertia, iterations: it };
}

/** k-means: best of `restarts` seeded k-means++ + Lloyd runs. */
export function kmeans(p: Points, k: number, options: KMeansOptions = {}): KMeansResult {
  const restarts = Math.max(1, options.restarts ?? 10);
  const maxIterations = options.maxIterations ?? 300;
  // The tolerance is relative to the data's scale, as a centre shift of 1e-12 means nothing for data in the thousands.
  let variance = 0;
  const { n, d, data } = p;
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += data[i * d + j]!;
    m /= n;
    for (let i = 0; i < n; i++) variance += (data[i * d + j]! - m) ** 2;
  }
  const tol = (options.tol ?? 1e-10) * (variance / n);
  const rand = mulberry32(options.seed ?? 0);
  let best: KMeansResult | undefined;
  for (let r = 0; r < restarts; r++) {
    const res = lloyd(p, k, kmeansPlusPlus(p, k, rand), maxIterations, tol);
    if (!best || res.inertia < best.inertia) best = res;
  }
  return best!;
}
