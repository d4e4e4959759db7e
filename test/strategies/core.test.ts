/** The strategy numerics on hand-made data with known answers (the scikit-learn comparison is reference.test.ts). */
import { describe, expect, it } from 'vitest';
import { assign, kmeans, kmeansPlusPlus } from '../../src/strategies/kmeans.js';
import { topEigenpairs } from '../../src/strategies/eigen.js';
import { knn, knnAffinity } from '../../src/strategies/knn.js';
import { spectralClustering } from '../../src/strategies/spectral.js';
import { fitGmm, fitGmmByBic, parameterCount, predict, scoreSamples } from '../../src/strategies/gmm.js';
import { trainCav } from '../../src/strategies/cav.js';
import { sensitivity, tcav } from '../../src/strategies/tcav.js';
import { incompleteBeta, tTestIndependent, tTwoSidedP } from '../../src/strategies/stats.js';
import { downsample, normalizeHeatmaps, spray } from '../../src/strategies/spray.js';
import { assess, fitPrototypes, quantile } from '../../src/strategies/pcx.js';
import { pointsOf, toPoints, type Points } from '../../src/strategies/points.js';
import { gaussian, mulberry32 } from '../../src/seeded-random.js';
import { InvalidArgumentError } from '../../src/errors.js';

function blobs(centers: number[][], per: number, spread: number, seed = 1): { p: Points; truth: number[] } {
  const rand = mulberry32(seed);
  const rows: number[][] = [];
  const truth: number[] = [];
  centers.forEach((c, k) => {
    for (let i = 0; i < per; i++) {
      rows.push(c.map((v) => v + spread * gaussian(rand)));
      truth.push(k);
    }
  });
  return { p: toPoints(rows), truth };
}

const samePartition = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  const m = new Map<number, number>();
  const r = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((m.get(a[i]!) ?? b[i]) !== b[i] || (r.get(b[i]!) ?? a[i]) !== a[i]) return false;
    m.set(a[i]!, b[i]!);
    r.set(b[i]!, a[i]!);
  }
  return true;
};

describe('points', () => {
  it('refuses ragged and non-finite input by name', () => {
    expect(() => toPoints([[1, 2], [3]])).toThrow(/point 1 has 1 features/);
    expect(() => toPoints([[1, NaN]])).toThrow(InvalidArgumentError);
    expect(() => pointsOf(new Float64Array(5), 2, 2)).toThrow(/5 values do not make 2×2/);
  });
});

describe('k-means', () => {
  it('two pairs: centres at the pair means, inertia 1', () => {
    const p = toPoints([[0, 0], [0, 1], [10, 0], [10, 1]]);
    const r = kmeans(p, 2, { seed: 3 });
    expect(r.inertia).toBeCloseTo(1, 12);
    const centres = [[r.centers[0], r.centers[1]], [r.centers[2], r.centers[3]]].sort((a, b) => a[0]! - b[0]!);
    expect(centres).toEqual([[0, 0.5], [10, 0.5]]);
    expect(samePartition(r.labels, [0, 0, 1, 1])).toBe(true);
  });
  it('k-means++ seeds distinct points, and assign agrees with the labels', () => {
    const { p, truth } = blobs([[0, 0], [8, 0], [0, 8]], 30, 0.5);
    const seeds = kmeansPlusPlus(p, 3, mulberry32(5));
    expect(new Set(seeds.map((s) => truth[s])).size).toBe(3);
    const r = kmeans(p, 3);
    expect(samePartition(r.labels, truth)).toBe(true);
    const labels = new Int32Array(p.n);
    expect(assign(p, r.centers, 3, labels)).toBeCloseTo(r.inertia, 9);
    expect(() => kmeans(p, 0)).toThrow(/k: must be 1–90/);
  });
});

describe('eigenpairs', () => {
  const diag = (vals: number[]) => (x: Float64Array, y: Float64Array) => {
    for (let i = 0; i < vals.length; i++) y[i] = vals[i]! * x[i]!;
  };
  it('dense and Krylov paths find the largest eigenvalues, repeated ones included', () => {
    for (const n of [100, 500]) {
      const vals = Array.from({ length: n }, (_, i) => 0.5 * Math.sin(i));
      vals[7] = 2;
      vals[30] = 2; // multiplicity 2
      vals[60] = 1.5;
      const r = topEigenpairs(diag(vals), n, 3, { tol: 1e-10 });
      expect(Array.from(r.values)).toEqual([expect.closeTo(2, 9), expect.closeTo(2, 9), expect.closeTo(1.5, 9)]);
      // The third eigenvector is e_60.
      expect(Math.abs(r.vectors[2]![60]!)).toBeCloseTo(1, 6);
    }
  });
  it('the Chebyshev path (spectrum bounded below) agrees with Krylov on a clustered spectrum, repeated value included', () => {
    const n = 800;
    // Values in [−1, 1] crowded just below the wanted ones, as a normalised kNN adjacency's are.
    const vals = Array.from({ length: n }, (_, i) => -1 + 1.9 * ((i * 0.618034) % 1));
    vals[11] = 1;
    vals[400] = 1;
    vals[77] = 0.97;
    vals[501] = 0.955;
    const r = topEigenpairs(diag(vals), n, 4, { tol: 1e-8, lowerBound: -1, seed: 3 });
    const k = topEigenpairs(diag(vals), n, 4, { tol: 1e-8, seed: 3 });
    expect(Array.from(r.values)).toEqual([expect.closeTo(1, 9), expect.closeTo(1, 9), expect.closeTo(0.97, 9), expect.closeTo(0.955, 9)]);
    Array.from(k.values).forEach((v, i) => expect(r.values[i]!).toBeCloseTo(v, 9));
    expect(r.residual).toBeLessThanOrEqual(1e-8);
    expect(Math.abs(r.vectors[2]![77]!)).toBeCloseTo(1, 6);
    expect(Math.abs(r.vectors[3]![501]!)).toBeCloseTo(1, 6);
    // The two vectors of the repeated value span e_11 and e_400.
    expect(r.vectors[0]![11]! ** 2 + r.vectors[1]![11]! ** 2).toBeCloseTo(1, 6);
    expect(r.vectors[0]![400]! ** 2 + r.vectors[1]![400]! ** 2).toBeCloseTo(1, 6);
  });
});

describe('kNN graph and spectral clustering', () => {
  it('exact neighbours and the ½(C + Cᵀ) weights', () => {
    const p = toPoints([[0], [1], [3], [7]]);
    const g = knn(p, 1);
    expect(Array.from(g.indices)).toEqual([1, 0, 1, 2]);
    expect(Array.from(g.distances)).toEqual([1, 1, 2, 4]);
    const w = knnAffinity(g, 4);
    // 0↔1 mutual (1), 2→1 one-way (½), 3→2 one-way (½).
    expect(Array.from(w.values)).toEqual([1, 1, 0.5, 0.5, 0.5, 0.5]);
    expect(() => knn(p, 4)).toThrow(/neighbors: must be 1–3/);
  });
  it('the eigengap suggests four clusters for four separate blobs and finds them', () => {
    const { p, truth } = blobs([[0, 0], [10, 0], [0, 10], [10, 10]], 40, 0.8);
    const r = spectralClustering(p, { neighbors: 8, maxClusters: 8 });
    expect(r.suggestedClusters).toBe(4);
    expect(r.clusters).toBe(4);
    expect(r.eigenvalues.slice(0, 4).every((v) => v < 1e-8)).toBe(true);
    expect(r.eigengaps[3]).toBeGreaterThan(0.01);
    expect(samePartition(r.labels, truth)).toBe(true);
  });
});

describe('Gaussian mixture', () => {
  const { p, truth } = blobs([[0, 0, 0], [6, 0, 0], [0, 6, 6]], 60, 1, 7);
  it('BIC chooses three components for three blobs; parameter counts as scikit-learn', () => {
    const r = fitGmmByBic(p, 5);
    expect(r.best.model.k).toBe(3);
    expect(r.bic.map((b) => b.components)).toEqual([1, 2, 3, 4, 5]);
    // Up to a relabelling, at most a couple of the 180 points (those between blobs) go elsewhere.
    const pred = predict(r.best.model, p);
    const agree = [0, 1, 2].reduce((acc, k) => {
      const counts = [0, 0, 0];
      truth.forEach((t, i) => t === k && counts[pred[i]!]!++);
      return acc + Math.max(...counts);
    }, 0);
    expect(agree).toBeGreaterThanOrEqual(178);
    expect(parameterCount(3, 3, 'full')).toBe(3 * 6 + 9 + 2);
    expect(parameterCount(3, 3, 'diag')).toBe(9 + 9 + 2);
  });
  it('a one-component diagonal mixture is the product of 1-d Gaussians with the sample moments', () => {
    const q = toPoints([[1, 10], [3, 10], [5, 13]]);
    const fit = fitGmm(q, 1, { covariance: 'diag', regCovar: 0 });
    // Means (3, 11), biased variances (8/3, 2).
    const ll = scoreSamples(fit.model, toPoints([[3, 11]]))[0]!;
    expect(ll).toBeCloseTo(-Math.log(2 * Math.PI) - 0.5 * Math.log((8 / 3) * 2), 9);
    expect(fit.iterations).toBe(2);
  });
  it('refuses a bad number of components or covariance', () => {
    expect(() => fitGmm(p, 0)).toThrow(/prototypes: must be 1–180/);
    expect(() => fitGmm(p, 2, { covariance: 'tied' as 'full' })).toThrow(/covariance/);
  });
});

describe('CAVs and TCAV', () => {
  const rand = mulberry32(11);
  const concept = toPoints(Array.from({ length: 40 }, () => [2 + gaussian(rand), gaussian(rand), gaussian(rand)]));
  const counter = toPoints(Array.from({ length: 60 }, () => [gaussian(rand), gaussian(rand), gaussian(rand)]));
  it('every CAV method points towards the concept (first axis)', () => {
    for (const method of ['pattern', 'logistic', 'svm'] as const) {
      const cav = trainCav(concept, counter, { method });
      expect(cav.direction[0]).toBeGreaterThan(0.9);
      expect(Math.hypot(...cav.direction)).toBeCloseTo(1, 12);
      expect(cav.accuracy).toBeGreaterThan(0.7);
    }
    expect(() => trainCav(concept, concept, { method: 'pattern' })).toThrow(/give no direction/);
    expect(() => trainCav(concept, toPoints([[1, 2]]))).toThrow(/have 2 features/);
  });
  it('sensitivity: TCAV share and the α-TCAV limits by hand', () => {
    const g = toPoints([[1, 0], [-1, 0], [0, 1], [3, 4]]);
    const dir = Float64Array.from([1, 0]);
    const s = sensitivity(g, dir, 0);
    expect(Array.from(s.derivatives)).toEqual([1, -1, 0, 3]);
    expect(s.tcav).toBe(0.5);
    expect(s.alphaTcav).toBe(0.5);
    expect(sensitivity(g, dir, Infinity).alphaTcav).toBeCloseTo((1 + 0 + 0.5 + 1) / 4, 12);
    // α = 2: σ(2·1), σ(−2), σ(0), σ(2·0.6).
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    expect(sensitivity(g, dir, 2).alphaTcav).toBeCloseTo((sig(2) + sig(-2) + 0.5 + sig(1.2)) / 4, 12);
  });
  it('a concept the class logit follows is significant; one it ignores is not', () => {
    const pool = toPoints(Array.from({ length: 200 }, () => [gaussian(rand), gaussian(rand), gaussian(rand)]));
    const aligned = toPoints(Array.from({ length: 50 }, () => [1 + 0.3 * gaussian(rand), gaussian(rand), gaussian(rand)]));
    const r = tcav(concept, pool, aligned, { runs: 8, seed: 2 });
    expect(r.tcav.mean).toBeGreaterThan(0.9);
    expect(r.significant).toBe(true);
    expect(r.test.p).toBeLessThan(0.01);
    expect(r.random.mean).toBeLessThan(r.tcav.mean);
    expect(r.runs).toHaveLength(8);
    const ignoring = toPoints(Array.from({ length: 50 }, () => [0, gaussian(rand), gaussian(rand)]));
    const r2 = tcav(concept, pool, ignoring, { runs: 8, seed: 2 });
    expect(r2.tcav.mean).toBeGreaterThan(0.2);
    expect(r2.tcav.mean).toBeLessThan(0.8);
    expect(() => tcav(concept, pool, aligned, { runs: 1 })).toThrow(/runs/);
  });
});

describe('t-test', () => {
  it('incomplete beta and t quantiles by known values', () => {
    expect(incompleteBeta(0.5, 3, 3)).toBeCloseTo(0.5, 12);
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    // t(10) two-sided 5% critical value 2.228138852.
    expect(tTwoSidedP(2.228138852, 10)).toBeCloseTo(0.05, 8);
    expect(tTwoSidedP(0, 5)).toBeCloseTo(1, 12);
  });
  it('constant groups', () => {
    expect(tTestIndependent([1, 1], [1, 1]).p).toBe(1);
    expect(tTestIndependent([1, 1], [0, 0]).p).toBe(0);
  });
});

describe('SpRAy', () => {
  /** 12×12 heatmaps: a centred blob (the object) or, for some, a bright corner (the artefact). */
  function heatmaps(n: number, corner: (i: number) => boolean) {
    const rand = mulberry32(4);
    const data = new Float32Array(n * 144);
    for (let i = 0; i < n; i++) {
      for (let y = 0; y < 12; y++) {
        for (let x = 0; x < 12; x++) {
          const obj = Math.exp(-((x - 6) ** 2 + (y - 6) ** 2) / 8);
          const art = corner(i) && x >= 9 && y >= 9 ? 3 : 0;
          data[i * 144 + y * 12 + x] = (corner(i) ? 0.2 : 1) * obj + art + 0.05 * gaussian(rand);
        }
      }
    }
    return { data, n, h: 12, w: 12 };
  }
  it('normalises by the largest |value| and sum-pools', () => {
    const norm = normalizeHeatmaps({ data: Float32Array.from([1, -4, 2, 0]), n: 1, h: 2, w: 2 });
    expect(Array.from(norm)).toEqual([0.25, -1, 0.5, 0]);
    expect(Array.from(downsample(norm, 1, 2, 2, 2).data)).toEqual([-0.25]);
  });
  it('separates the corner strategy into its own cluster', () => {
    const hm = heatmaps(90, (i) => i % 3 === 0);
    const r = spray(hm, { embedding: true, epochs: 50 });
    expect(r.suggestedClusters).toBe(2);
    const corner = Array.from({ length: 90 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    expect(samePartition(r.labels, corner)).toBe(true);
    const art = r.clusters.find((c) => c.members.includes(0))!;
    expect(art.size).toBe(30);
    // The artefact cluster's mean heatmap peaks in the corner, the other's in the middle.
    const argmax = (v: Float64Array) => v.indexOf(Math.max(...v));
    expect(argmax(art.meanHeatmap) % 12).toBeGreaterThanOrEqual(9);
    const other = r.clusters.find((c) => c !== art)!;
    expect([5, 6, 7]).toContain(argmax(other.meanHeatmap) % 12);
    expect(r.embedding).toHaveLength(180);
    expect(Math.min(...r.embedding!)).toBe(0);
    expect(Math.max(...r.embedding!)).toBe(1);
    expect(() => spray({ ...hm, n: 2, data: hm.data.subarray(0, 288) })).toThrow(/at least 3/);
  });
});

describe('PCX', () => {
  it('prototypes per class, closest samples, and outliers below the calibrated quantile', () => {
    const rand = mulberry32(9);
    const rows: number[][] = [];
    const labels: number[] = [];
    // Class 0 uses concepts {0,1} or {2,3} (two strategies); class 1 uses concept 4.
    for (let i = 0; i < 120; i++) {
      const s = i % 2;
      rows.push([0, 1, 2, 3, 4, 5].map((c) => (c === 2 * s || c === 2 * s + 1 ? 1 : 0.05) + 0.03 * gaussian(rand)));
      labels.push(0);
    }
    for (let i = 0; i < 60; i++) {
      rows.push([0, 1, 2, 3, 4, 5].map((c) => (c === 4 ? 1 : 0.05) + 0.03 * gaussian(rand)));
      labels.push(1);
    }
    const fits = fitPrototypes(toPoints(rows), labels, { maxPrototypes: 4, covariance: 'diag' });
    expect(fits.map((f) => f.classIndex)).toEqual([0, 1]);
    expect(fits[0]!.model.k).toBe(2);
    expect(fits[1]!.model.k).toBe(1);
    const tops = fits[0]!.prototypes.map((p) => p.topConcepts.slice(0, 2).map((t) => t.concept).sort()).sort();
    expect(tops).toEqual([[0, 1], [2, 3]]);
    // Closest samples are indices into the given vectors, of the right class and strategy.
    for (const p of fits[0]!.prototypes) for (const i of p.closest) expect(labels[i]).toBe(0);
    // A class-0 sample using class 1's concept is an outlier, deviating by over-using concept 4.
    const odd = assess(fits[0]!, toPoints([rows[0]!, [0.05, 0.05, 0.05, 0.05, 1, 0.05]]));
    expect(odd[0]!.outlier).toBe(false);
    expect(odd[1]!.outlier).toBe(true);
    expect(odd[1]!.overUsed[0]!.concept).toBe(4);
    expect(odd[1]!.logLikelihood).toBeLessThan(fits[0]!.threshold);
    expect(quantile([3, 1, 2, 4], 0.5)).toBe(2.5);
  });
});
