/**
 * The strategy numerics against scikit-learn 1.2 (Debian python3-sklearn) on fixed data: reference numbers made by
 * scripts/strategies-reference.py and committed in test/fixtures/strategies/reference.json.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fitGmm, scoreSamples } from '../../src/strategies/gmm.js';
import { spectralClustering } from '../../src/strategies/spectral.js';
import { trainCav } from '../../src/strategies/cav.js';
import { tTestIndependent } from '../../src/strategies/stats.js';
import { toPoints } from '../../src/strategies/points.js';

interface Ref {
  gmm: { X: number[][]; initLabels: number[]; cases: { covariance: 'full' | 'diag'; score: number; scoreSamples: number[]; bic: number; weights: number[]; means: number[][] }[] };
  spectral: { X: number[][]; neighbors: number; clusters: number; labels: number[] }[];
  cav: { concept: number[][]; counter: number[][]; C: number; logistic: { coef: number[] }; svm: { coef: number[] }; pattern: number[] };
  ttest: { a: number[]; b: number[]; t: number; p: number };
}
const ref = JSON.parse(readFileSync(new URL('../fixtures/strategies/reference.json', import.meta.url), 'utf8')) as Ref;

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! ** 2;
    bb += b[i]! ** 2;
  }
  return ab / Math.sqrt(aa * bb);
};

/** Whether two labelings are the same partition (equal up to renaming the labels). */
function samePartition(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((ab.get(a[i]!) ?? b[i]!) !== b[i]! || (ba.get(b[i]!) ?? a[i]!) !== a[i]!) return false;
    ab.set(a[i]!, b[i]!);
    ba.set(b[i]!, a[i]!);
  }
  return true;
}

describe('Gaussian mixture against sklearn GaussianMixture', () => {
  for (const c of ref.gmm.cases) {
    it(`${c.covariance} covariance: same log-likelihoods within 1e-4 relative from the same initialisation`, () => {
      const p = toPoints(ref.gmm.X);
      const fit = fitGmm(p, 3, { covariance: c.covariance, tol: 1e-10, maxIterations: 1000, initLabels: ref.gmm.initLabels });
      expect(fit.converged).toBe(true);
      expect(Math.abs(fit.logLikelihood - c.score) / Math.abs(c.score)).toBeLessThan(1e-4);
      expect(Math.abs(fit.bic - c.bic) / Math.abs(c.bic)).toBeLessThan(1e-4);
      const s = scoreSamples(fit.model, p);
      for (let i = 0; i < s.length; i++) expect(Math.abs(s[i]! - c.scoreSamples[i]!) / Math.max(1, Math.abs(c.scoreSamples[i]!))).toBeLessThan(1e-4);
      c.weights.forEach((w, k) => expect(fit.model.weights[k]).toBeCloseTo(w, 5));
      c.means.forEach((m, k) => m.forEach((v, j) => expect(fit.model.means[k * p.d + j]).toBeCloseTo(v, 4)));
    });
  }

  it('the default k-means initialisation reaches the same optimum on these well-separated blobs', () => {
    const c = ref.gmm.cases[0]!;
    const fit = fitGmm(toPoints(ref.gmm.X), 3, { tol: 1e-10, maxIterations: 1000 });
    expect(Math.abs(fit.logLikelihood - c.score) / Math.abs(c.score)).toBeLessThan(1e-4);
  });
});

describe('spectral clustering against sklearn SpectralClustering', () => {
  for (const c of ref.spectral) {
    it(`${c.X.length} points: identical assignments up to label permutation`, () => {
      const res = spectralClustering(toPoints(c.X), { neighbors: c.neighbors, clusters: c.clusters, seed: 0 });
      expect(res.clusters).toBe(3);
      expect(samePartition(res.labels, c.labels)).toBe(true);
      // One connected graph: one zero eigenvalue, the rest positive and ascending.
      expect(res.eigenvalues[0]!).toBeLessThan(1e-6);
      expect(res.eigenvalues[1]!).toBeGreaterThan(1e-6);
      for (let i = 1; i < res.eigenvalues.length; i++) expect(res.eigenvalues[i]!).toBeGreaterThanOrEqual(res.eigenvalues[i - 1]! - 1e-9);
    });
  }
});

describe('CAVs against sklearn', () => {
  const concept = toPoints(ref.cav.concept);
  const counter = toPoints(ref.cav.counter);
  it('logistic regression: direction within 1e-3 cosine of LogisticRegression', () => {
    const cav = trainCav(concept, counter, { method: 'logistic', C: ref.cav.C });
    expect(1 - cosine(cav.direction, ref.cav.logistic.coef)).toBeLessThan(1e-3);
    expect(1 - cosine(cav.direction, ref.cav.logistic.coef)).toBeLessThan(1e-8);
  });
  it('squared-hinge SVM: direction within 1e-3 cosine of LinearSVC', () => {
    const cav = trainCav(concept, counter, { method: 'svm', C: ref.cav.C });
    expect(1 - cosine(cav.direction, ref.cav.svm.coef)).toBeLessThan(1e-3);
  });
  it('pattern CAV: the normalised mean difference', () => {
    const cav = trainCav(concept, counter, { method: 'pattern' });
    expect(1 - cosine(cav.direction, ref.cav.pattern)).toBeLessThan(1e-12);
    expect(cav.accuracy).toBeGreaterThan(0.6);
  });
});

describe('t-test against scipy.stats.ttest_ind', () => {
  it('same t and two-sided p', () => {
    const t = tTestIndependent(ref.ttest.a, ref.ttest.b);
    expect(t.t).toBeCloseTo(ref.ttest.t, 10);
    expect(t.p).toBeCloseTo(ref.ttest.p, 10);
    expect(t.df).toBe(ref.ttest.a.length + ref.ttest.b.length - 2);
  });
});
