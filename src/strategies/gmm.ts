/**
 * Gaussian mixtures fitted by EM, as PCX fits one per class to concept-relevance vectors (Dreyer et al. 2024): each
 * component is a prototype. Full or diagonal covariances with reg·I added (scikit-learn's reg_covar), initialised
 * from k-means (k-means++ seeding) labels, stopped when the mean log-likelihood changes by less than `tol` — the
 * same algorithm and stopping rule as scikit-learn's GaussianMixture, so the same initialisation gives the same fit.
 * The number of components is given or chosen by BIC.
 */
import { CholeskyDecomposition, Matrix, inverse } from 'ml-matrix';
import { InvalidArgumentError, XsysError } from '../errors.js';
import { kmeans } from './kmeans.js';
import { logSumExp, type Points } from './points.js';

export type CovarianceType = 'full' | 'diag';

export interface GmmOptions {
  covariance?: CovarianceType;
  /** Added to every variance so no component collapses onto a point (default 1e-6). */
  regCovar?: number;
  /** Convergence threshold on the change of the mean log-likelihood (default 1e-3, as scikit-learn). */
  tol?: number;
  maxIterations?: number;
  seed?: number;
  /** Initial hard assignment of the points (overrides the k-means initialisation; used to compare with references). */
  initLabels?: ArrayLike<number>;
}

export interface Gmm {
  k: number;
  d: number;
  covariance: CovarianceType;
  weights: Float64Array;
  /** k·d. */
  means: Float64Array;
  /** full: k·d·d; diag: k·d. */
  covariances: Float64Array;
  /** Upper-triangular U with Σ⁻¹ = U Uᵀ per component (full: k·d·d, diag: k·d holding 1/σ). */
  precisionCholesky: Float64Array;
  /** Σ log diag(U) = −½ log det Σ per component. */
  logDetHalf: Float64Array;
}

export interface GmmFit {
  model: Gmm;
  /** Mean log-likelihood of the training points under the final model. */
  logLikelihood: number;
  iterations: number;
  converged: boolean;
  bic: number;
  labels: Int32Array;
}

const LOG_2PI = Math.log(2 * Math.PI);
// scikit-learn adds 10·machine epsilon to every component's mass so an empty component does not divide by zero.
const EPS10 = 10 * 2.220446049250313e-16;
// Responsibilities below this are left out of the covariance sums: their share is far below what the fit resolves,
// and most of a well-separated mixture's n·k responsibilities are that small.
const NEGLIGIBLE = 1e-12;

export function parameterCount(k: number, d: number, covariance: CovarianceType): number {
  const cov = covariance === 'full' ? (k * d * (d + 1)) / 2 : k * d;
  return cov + k * d + k - 1;
}

function precisionsOf(covariances: Float64Array, k: number, d: number, covariance: CovarianceType): { pc: Float64Array; logDetHalf: Float64Array } {
  const logDetHalf = new Float64Array(k);
  if (covariance === 'diag') {
    const pc = new Float64Array(k * d);
    for (let i = 0; i < k * d; i++) {
      if (!(covariances[i]! > 0)) throw illConditioned();
      pc[i] = 1 / Math.sqrt(covariances[i]!);
    }
    for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) logDetHalf[c]! += Math.log(pc[c * d + j]!);
    return { pc, logDetHalf };
  }
  const pc = new Float64Array(k * d * d);
  for (let c = 0; c < k; c++) {
    const m = new Matrix(d, d);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) m.set(a, b, covariances[c * d * d + a * d + b]!);
    const chol = new CholeskyDecomposition(m);
    if (!chol.isPositiveDefinite()) throw illConditioned();
    // U = L⁻ᵀ is upper triangular and Σ⁻¹ = U Uᵀ; the quadratic form is ‖(x−μ)ᵀU‖².
    const linv = inverse(chol.lowerTriangularMatrix);
    for (let a = 0; a < d; a++) {
      for (let b = a; b < d; b++) pc[c * d * d + a * d + b] = linv.get(b, a);
      logDetHalf[c]! += Math.log(linv.get(a, a));
    }
  }
  return { pc, logDetHalf };
}

function illConditioned(): XsysError {
  return new XsysError('a Gaussian mixture component has a singular covariance (too few or identical points in it)', {
    hint: 'increase regCovar, use fewer prototypes or the diagonal covariance',
  });
}

/** n·k values log(w_c) + log N(x_i | μ_c, Σ_c). */
export function weightedLogProb(model: Gmm, p: Points, out: Float64Array = new Float64Array(p.n * model.k)): Float64Array {
  const { k, d, means, precisionCholesky: pc, logDetHalf, weights } = model;
  if (p.d !== d) throw new InvalidArgumentError('points', `have ${p.d} features, the mixture ${d}`);
  const diff = new Float64Array(d);
  const y = new Float64Array(d);
  const x = p.data;
  for (let i = 0; i < p.n; i++) {
    const xo = i * d;
    for (let c = 0; c < k; c++) {
      const mo = c * d;
      let q = 0;
      if (model.covariance === 'diag') {
        for (let j = 0; j < d; j++) {
          const t = (x[xo + j]! - means[mo + j]!) * pc[mo + j]!;
          q += t * t;
        }
      } else {
        for (let j = 0; j < d; j++) diff[j] = x[xo + j]! - means[mo + j]!;
        y.fill(0);
        const uo = c * d * d;
        for (let a = 0; a < d; a++) {
          const da = diff[a]!;
          const ro = uo + a * d;
          for (let b = a; b < d; b++) y[b]! += da * pc[ro + b]!;
        }
        for (let b = 0; b < d; b++) q += y[b]! * y[b]!;
      }
      out[i * k + c] = -0.5 * (d * LOG_2PI + q) + logDetHalf[c]! + Math.log(weights[c]!);
    }
  }
  return out;
}

/** Per-point log-likelihood under the mixture. */
export function scoreSamples(model: Gmm, p: Points): Float64Array {
  const wlp = weightedLogProb(model, p);
  const out = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++) out[i] = logSumExp(wlp, i * model.k, (i + 1) * model.k);
  return out;
}

/** Most responsible component per point. */
export function predict(model: Gmm, p: Points): Int32Array {
  const wlp = weightedLogProb(model, p);
  const labels = new Int32Array(p.n);
  for (let i = 0; i < p.n; i++) {
    let best = 0;
    for (let c = 1; c < model.k; c++) if (wlp[i * model.k + c]! > wlp[i * model.k + best]!) best = c;
    labels[i] = best;
  }
  return labels;
}

/** M-step: weights, means and covariances from responsibilities (n·k). */
function mStep(p: Points, resp: Float64Array, k: number, covariance: CovarianceType, reg: number): Gmm {
  const { n, d, data: x } = p;
  const nk = new Float64Array(k).fill(EPS10);
  const means = new Float64Array(k * d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      const r = resp[i * k + c]!;
      if (r === 0) continue;
      nk[c]! += r;
      for (let j = 0; j < d; j++) means[c * d + j]! += r * x[i * d + j]!;
    }
  }
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) means[c * d + j]! /= nk[c]!;
  const covariances = new Float64Array(covariance === 'full' ? k * d * d : k * d);
  const diff = new Float64Array(d);
  for (let c = 0; c < k; c++) {
    const mo = c * d;
    if (covariance === 'diag') {
      for (let i = 0; i < n; i++) {
        const r = resp[i * k + c]!;
        if (r < NEGLIGIBLE) continue;
        for (let j = 0; j < d; j++) covariances[mo + j]! += r * (x[i * d + j]! - means[mo + j]!) ** 2;
      }
      for (let j = 0; j < d; j++) covariances[mo + j] = covariances[mo + j]! / nk[c]! + reg;
      continue;
    }
    const co = c * d * d;
    for (let i = 0; i < n; i++) {
      const r = resp[i * k + c]!;
      if (r < NEGLIGIBLE) continue;
      for (let j = 0; j < d; j++) diff[j] = x[i * d + j]! - means[mo + j]!;
      for (let a = 0; a < d; a++) {
        const ra = r * diff[a]!;
        const ro = co + a * d;
        for (let b = a; b < d; b++) covariances[ro + b]! += ra * diff[b]!;
      }
    }
    for (let a = 0; a < d; a++) {
      for (let b = a; b < d; b++) {
        const v = covariances[co + a * d + b]! / nk[c]! + (a === b ? reg : 0);
        covariances[co + a * d + b] = v;
        covariances[co + b * d + a] = v;
      }
    }
  }
  const weights = nk.map((v) => v / n);
  const { pc, logDetHalf } = precisionsOf(covariances, k, d, covariance);
  return { k, d, covariance, weights, means, covariances, precisionCholesky: pc, logDetHalf };
}

/** E-step: responsibilities (in place) and the mean log-likelihood. */
function eStep(model: Gmm, p: Points, resp: Float64Array): number {
  const { k } = model;
  weightedLogProb(model, p, resp);
  let total = 0;
  for (let i = 0; i < p.n; i++) {
    const lse = logSumExp(resp, i * k, (i + 1) * k);
    total += lse;
    for (let c = 0; c < k; c++) resp[i * k + c] = Math.exp(resp[i * k + c]! - lse);
  }
  return total / p.n;
}

/** Fits a k-component mixture by EM. */
export function fitGmm(p: Points, k: number, options: GmmOptions = {}): GmmFit {
  const covariance = options.covariance ?? 'full';
  if (covariance !== 'full' && covariance !== 'diag') throw new InvalidArgumentError('covariance', `must be 'full' or 'diag', got '${String(covariance)}'`);
  if (!Number.isInteger(k) || k < 1 || k > p.n) throw new InvalidArgumentError('prototypes', `must be 1–${p.n} (number of points), got ${k}`);
  const reg = options.regCovar ?? 1e-6;
  if (!(reg >= 0)) throw new InvalidArgumentError('regCovar', `must be ≥ 0, got ${reg}`);
  const tol = options.tol ?? 1e-3;
  const maxIterations = options.maxIterations ?? 100;
  const { n } = p;
  let labels: ArrayLike<number>;
  if (options.initLabels) {
    if (options.initLabels.length !== n) throw new InvalidArgumentError('initLabels', `has ${options.initLabels.length} labels for ${n} points`);
    labels = options.initLabels;
  } else {
    labels = kmeans(p, k, { restarts: 1, seed: options.seed ?? 0 }).labels;
  }
  const resp = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l >= k) throw new InvalidArgumentError('initLabels', `label ${l} of point ${i} is not in 0–${k - 1}`);
    resp[i * k + l] = 1;
  }
  let model = mStep(p, resp, k, covariance, reg);
  let lower = -Infinity;
  let converged = false;
  let it = 0;
  while (it < maxIterations) {
    it++;
    const prev = lower;
    lower = eStep(model, p, resp);
    model = mStep(p, resp, k, covariance, reg);
    if (Math.abs(lower - prev) < tol) {
      converged = true;
      break;
    }
  }
  const scores = scoreSamples(model, p);
  const logLikelihood = scores.reduce((a, b) => a + b, 0) / n;
  const bic = -2 * logLikelihood * n + parameterCount(k, p.d, covariance) * Math.log(n);
  return { model, logLikelihood, iterations: it, converged, bic, labels: predict(model, p) };
}

/** Fits mixtures of 1…maxComponents components and keeps the one with the lowest BIC. */
export function fitGmmByBic(p: Points, maxComponents: number, options: GmmOptions = {}): { best: GmmFit; bic: { components: number; bic: number }[] } {
  if (!Number.isInteger(maxComponents) || maxComponents < 1) throw new InvalidArgumentError('maxPrototypes', `must be ≥ 1, got ${maxComponents}`);
  const bic: { components: number; bic: number }[] = [];
  let best: GmmFit | undefined;
  for (let k = 1; k <= Math.min(maxComponents, p.n); k++) {
    const fit = fitGmm(p, k, { ...options, initLabels: undefined });
    bic.push({ components: k, bic: fit.bic });
    if (!best || fit.bic < best.bic) best = fit;
  }
  return { best: best!, bic };
}
