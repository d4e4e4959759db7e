/**
 * Concept activation vectors: a direction in a layer's activation space that separates activations of a concept's
 * examples from counterexamples. Three forms:
 * - `logistic`: L2-regularised logistic regression, ½‖w‖² + C Σ log(1 + e^{−y(w·x+b)}), bias unregularised
 *   (scikit-learn's LogisticRegression objective);
 * - `svm`: L2-regularised squared-hinge linear SVM, ½‖(w,b)‖² + C Σ max(0, 1 − y(w·x+b))², the bias handled as a
 *   weight on a constant feature as liblinear (scikit-learn's LinearSVC) does;
 * - `pattern`: the pattern CAV of Pahde et al. — the covariance of activations with the concept label over the
 *   label's variance, which for a binary label is the difference of the class means; more robust to distractor
 *   directions than a classifier's weights.
 * Every direction is returned with unit norm, pointing towards the concept.
 */
import { InvalidArgumentError } from '../errors.js';
import { newtonCg, type Objective } from './newton.js';
import type { Points } from './points.js';

export const CAV_METHODS = ['pattern', 'logistic', 'svm'] as const;
export type CavMethod = (typeof CAV_METHODS)[number];

export interface CavOptions {
  method?: CavMethod;
  /** Inverse regularisation strength of the classifiers (default 1, as scikit-learn). */
  C?: number;
}

export interface Cav {
  method: CavMethod;
  /** Unit-norm direction towards the concept. */
  direction: Float64Array;
  /** The classifier's raw weights and bias (pattern: the mean difference and the midpoint's projection). */
  weights: Float64Array;
  bias: number;
  /** Share of the training activations on the right side of the decision boundary. */
  accuracy: number;
  conceptCount: number;
  counterCount: number;
}

function stack(concept: Points, counter: Points): { x: Float64Array; y: Float64Array; n: number; d: number } {
  if (concept.d !== counter.d) throw new InvalidArgumentError('counterexamples', `have ${counter.d} features, the concept examples ${concept.d}`);
  const n = concept.n + counter.n;
  const x = new Float64Array(n * concept.d);
  x.set(concept.data, 0);
  x.set(counter.data, concept.n * concept.d);
  const y = new Float64Array(n);
  y.fill(1, 0, concept.n);
  y.fill(-1, concept.n);
  return { x, y, n, d: concept.d };
}

function logistic(x: Float64Array, y: Float64Array, n: number, d: number, C: number): Objective {
  const z = new Float64Array(n);
  const curv = new Float64Array(n);
  const xv = new Float64Array(n);
  return {
    valueAndGradient(theta, g) {
      g.fill(0);
      let f = 0;
      for (let j = 0; j < d; j++) {
        f += 0.5 * theta[j]! ** 2;
        g[j] = theta[j]!;
      }
      const b = theta[d]!;
      for (let i = 0; i < n; i++) {
        let s = b;
        for (let j = 0; j < d; j++) s += theta[j]! * x[i * d + j]!;
        z[i] = s;
        const m = y[i]! * s;
        // log(1 + e^{−m}) and σ(−m), both computed stably for large |m|.
        f += C * (m > 0 ? Math.log1p(Math.exp(-m)) : -m + Math.log1p(Math.exp(m)));
        const sig = m > 0 ? Math.exp(-m) / (1 + Math.exp(-m)) : 1 / (1 + Math.exp(m));
        const coef = -C * y[i]! * sig;
        for (let j = 0; j < d; j++) g[j]! += coef * x[i * d + j]!;
        g[d]! += coef;
        curv[i] = sig * (1 - sig);
      }
      return f;
    },
    hessianTimes(v, out) {
      for (let i = 0; i < n; i++) {
        let s = v[d]!;
        for (let j = 0; j < d; j++) s += v[j]! * x[i * d + j]!;
        xv[i] = C * curv[i]! * s;
      }
      out.fill(0);
      for (let j = 0; j < d; j++) out[j] = v[j]!;
      for (let i = 0; i < n; i++) {
        const c = xv[i]!;
        for (let j = 0; j < d; j++) out[j]! += c * x[i * d + j]!;
        out[d]! += c;
      }
    },
  };
}

function squaredHinge(x: Float64Array, y: Float64Array, n: number, d: number, C: number): Objective {
  const active = new Uint8Array(n);
  const xv = new Float64Array(n);
  return {
    valueAndGradient(theta, g) {
      let f = 0;
      for (let j = 0; j <= d; j++) {
        f += 0.5 * theta[j]! ** 2;
        g[j] = theta[j]!;
      }
      for (let i = 0; i < n; i++) {
        let s = theta[d]!;
        for (let j = 0; j < d; j++) s += theta[j]! * x[i * d + j]!;
        const margin = 1 - y[i]! * s;
        active[i] = margin > 0 ? 1 : 0;
        if (margin <= 0) continue;
        f += C * margin * margin;
        const coef = -2 * C * y[i]! * margin;
        for (let j = 0; j < d; j++) g[j]! += coef * x[i * d + j]!;
        g[d]! += coef;
      }
      return f;
    },
    hessianTimes(v, out) {
      // The generalised Hessian: I + 2C Σ over margin violators of x̃ x̃ᵀ.
      for (let i = 0; i < n; i++) {
        if (!active[i]) continue;
        let s = v[d]!;
        for (let j = 0; j < d; j++) s += v[j]! * x[i * d + j]!;
        xv[i] = 2 * C * s;
      }
      out.set(v);
      for (let i = 0; i < n; i++) {
        if (!active[i]) continue;
        const c = xv[i]!;
        for (let j = 0; j < d; j++) out[j]! += c * x[i * d + j]!;
        out[d]! += c;
      }
    },
  };
}

/** Trains a CAV separating the concept's activations from the counterexamples'. */
export function trainCav(concept: Points, counter: Points, options: CavOptions = {}): Cav {
  const method = options.method ?? 'pattern';
  if (!CAV_METHODS.includes(method)) throw new InvalidArgumentError('cav', `unknown CAV method '${String(method)}'`, `methods: ${CAV_METHODS.join(', ')}`);
  const C = options.C ?? 1;
  if (!(C > 0) || !Number.isFinite(C)) throw new InvalidArgumentError('C', `must be a positive number, got ${C}`);
  const { x, y, n, d } = stack(concept, counter);
  let weights: Float64Array;
  let bias: number;
  if (method === 'pattern') {
    const m1 = new Float64Array(d);
    const m0 = new Float64Array(d);
    for (let i = 0; i < concept.n; i++) for (let j = 0; j < d; j++) m1[j]! += concept.data[i * d + j]! / concept.n;
    for (let i = 0; i < counter.n; i++) for (let j = 0; j < d; j++) m0[j]! += counter.data[i * d + j]! / counter.n;
    weights = m1.map((v, j) => v - m0[j]!);
    // The boundary through the midpoint of the two means.
    bias = 0;
    for (let j = 0; j < d; j++) bias -= weights[j]! * (m1[j]! + m0[j]!) / 2;
  } else {
    const obj = method === 'logistic' ? logistic(x, y, n, d, C) : squaredHinge(x, y, n, d, C);
    const res = newtonCg(obj, d + 1);
    weights = res.theta.slice(0, d);
    bias = res.theta[d]!;
  }
  let nrm = 0;
  for (let j = 0; j < d; j++) nrm += weights[j]! ** 2;
  nrm = Math.sqrt(nrm);
  if (!(nrm > 0)) {
    throw new InvalidArgumentError('concept', 'the concept examples and counterexamples give no direction (their activations do not differ)', 'check that the concept examples show the concept and the layer sees it');
  }
  const direction = weights.map((v) => v / nrm);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let s = bias;
    for (let j = 0; j < d; j++) s += weights[j]! * x[i * d + j]!;
    if (s * y[i]! > 0) correct++;
  }
  return { method, direction, weights, bias, accuracy: correct / n, conceptCount: concept.n, counterCount: counter.n };
}
