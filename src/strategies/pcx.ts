/**
 * PCX — prototypical concept-based explanations (Dreyer et al. 2024, "Understanding the (Extra-)Ordinary"). Per
 * class, a Gaussian mixture over the concept-relevance vectors (relevance per channel of one layer) of the class's
 * training samples; each component is a prototype: a typical way the model reaches that class. A new prediction is
 * assigned to its most responsible prototype, scored by its log-likelihood under the class's mixture, flagged as an
 * outlier below a quantile of the training samples' log-likelihoods, and explained by which concepts it uses more or
 * less than its prototype.
 */
import { InvalidArgumentError } from '../errors.js';
import { fitGmm, fitGmmByBic, scoreSamples, weightedLogProb, type CovarianceType, type Gmm } from './gmm.js';
import { subset, type Points } from './points.js';

export interface PcxOptions {
  /** Prototypes per class; default: chosen by BIC among 1…maxPrototypes. */
  prototypes?: number;
  maxPrototypes?: number;
  covariance?: CovarianceType;
  regCovar?: number;
  /** Training log-likelihood quantile below which a prediction is an outlier (default 0.05). */
  outlierQuantile?: number;
  /** Closest training samples listed per prototype (default 8). */
  closest?: number;
  /** Scale each vector to unit L1 norm, so prototypes describe concept composition, not confidence (default true). */
  normalize?: boolean;
  seed?: number;
}

export interface Prototype {
  index: number;
  weight: number;
  /** Mean concept-relevance vector: the prototype's concept composition. */
  mean: number[];
  /** Training samples (indices into the given ids) nearest the mean, nearest first. */
  closest: number[];
  /** Concepts ordered by their relevance in the prototype, most relevant first. */
  topConcepts: { concept: number; relevance: number }[];
  /** Training samples assigned to it. */
  size: number;
}

export interface ClassPrototypes {
  classIndex: number;
  model: Gmm;
  prototypes: Prototype[];
  /** Log-likelihood below which a sample is an outlier. */
  threshold: number;
  outlierQuantile: number;
  /** BIC per number of prototypes tried (when chosen by BIC). */
  bic?: { components: number; bic: number }[];
  normalize: boolean;
  trainCount: number;
}

export interface PcxAssessment {
  prototype: number;
  logLikelihood: number;
  outlier: boolean;
  /** x − prototype mean per concept. */
  deviation: number[];
  /** Concepts used most above (over) and below (under) the prototype. */
  overUsed: { concept: number; by: number }[];
  underUsed: { concept: number; by: number }[];
}

function normalizeRows(p: Points): Points {
  const data = new Float64Array(p.data.length);
  for (let i = 0; i < p.n; i++) {
    let s = 0;
    for (let j = 0; j < p.d; j++) s += Math.abs(p.data[i * p.d + j]!);
    const f = s > 0 ? 1 / s : 0;
    for (let j = 0; j < p.d; j++) data[i * p.d + j] = p.data[i * p.d + j]! * f;
  }
  return { data, n: p.n, d: p.d };
}

/** The q-quantile by linear interpolation between order statistics (numpy's default). */
export function quantile(values: ArrayLike<number>, q: number): number {
  const s = Array.from(values).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (pos - lo) * (s[hi]! - s[lo]!);
}

/** Fits the prototypes of one class from its training samples' concept-relevance vectors. */
export function fitClassPrototypes(vectors: Points, classIndex: number, options: PcxOptions = {}): ClassPrototypes {
  const normalize = options.normalize ?? true;
  const q = options.outlierQuantile ?? 0.05;
  if (!(q >= 0 && q < 1)) throw new InvalidArgumentError('outlierQuantile', `must be in [0, 1), got ${q}`);
  const x = normalize ? normalizeRows(vectors) : vectors;
  const gmmOptions = { covariance: options.covariance ?? 'full', regCovar: options.regCovar ?? 1e-6, seed: options.seed } as const;
  let fit;
  let bic;
  if (options.prototypes !== undefined) {
    if (!Number.isInteger(options.prototypes) || options.prototypes < 1 || options.prototypes > x.n) {
      throw new InvalidArgumentError('prototypes', `must be 1–${x.n} (samples of class ${classIndex}), got ${options.prototypes}`);
    }
    fit = fitGmm(x, options.prototypes, gmmOptions);
  } else {
    const r = fitGmmByBic(x, Math.min(options.maxPrototypes ?? 8, x.n), gmmOptions);
    fit = r.best;
    bic = r.bic;
  }
  const model = fit.model;
  const train = scoreSamples(model, x);
  const closestCount = options.closest ?? 8;
  const prototypes: Prototype[] = [];
  for (let c = 0; c < model.k; c++) {
    const mean = Array.from(model.means.subarray(c * x.d, (c + 1) * x.d));
    const dist: [number, number][] = [];
    for (let i = 0; i < x.n; i++) {
      let s = 0;
      for (let j = 0; j < x.d; j++) s += (x.data[i * x.d + j]! - mean[j]!) ** 2;
      dist.push([s, i]);
    }
    dist.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const topConcepts = mean.map((relevance, concept) => ({ concept, relevance })).sort((a, b) => b.relevance - a.relevance || a.concept - b.concept);
    let size = 0;
    for (let i = 0; i < x.n; i++) if (fit.labels[i] === c) size++;
    prototypes.push({ index: c, weight: model.weights[c]!, mean, closest: dist.slice(0, closestCount).map((e) => e[1]), topConcepts, size });
  }
  return { classIndex, model, prototypes, threshold: quantile(train, q), outlierQuantile: q, bic, normalize, trainCount: x.n };
}

/** Assesses new samples' concept-relevance vectors against a class's prototypes. */
export function assess(cp: ClassPrototypes, vectors: Points, top = 5): PcxAssessment[] {
  const x = cp.normalize ? normalizeRows(vectors) : vectors;
  const ll = scoreSamples(cp.model, x);
  const wlp = weightedLogProb(cp.model, x);
  const k = cp.model.k;
  const out: PcxAssessment[] = [];
  for (let i = 0; i < x.n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (wlp[i * k + c]! > wlp[i * k + best]!) best = c;
    const mean = cp.prototypes[best]!.mean;
    const deviation = mean.map((m, j) => x.data[i * x.d + j]! - m);
    const order = deviation.map((by, concept) => ({ concept, by }));
    const overUsed = [...order].sort((a, b) => b.by - a.by).slice(0, top).filter((e) => e.by > 0);
    const underUsed = [...order].sort((a, b) => a.by - b.by).slice(0, top).filter((e) => e.by < 0);
    out.push({ prototype: best, logLikelihood: ll[i]!, outlier: ll[i]! < cp.threshold, deviation, overUsed, underUsed });
  }
  return out;
}

/** Fits every class present in `labels` (each needs at least `minSamples`). */
export function fitPrototypes(vectors: Points, labels: ArrayLike<number>, options: PcxOptions & { minSamples?: number } = {}): ClassPrototypes[] {
  if (labels.length !== vectors.n) throw new InvalidArgumentError('labels', `${labels.length} labels for ${vectors.n} vectors`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!byClass.has(l)) byClass.set(l, []);
    byClass.get(l)!.push(i);
  }
  const min = options.minSamples ?? 2;
  const out: ClassPrototypes[] = [];
  for (const [cls, idx] of [...byClass.entries()].sort((a, b) => a[0] - b[0])) {
    if (idx.length < min) continue;
    const cp = fitClassPrototypes(subset(vectors, idx), cls, options);
    // Indices in prototypes refer to the given vectors, not the class subset.
    for (const p of cp.prototypes) p.closest = p.closest.map((j) => idx[j]!);
    out.push(cp);
  }
  return out;
}
