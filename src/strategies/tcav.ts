/**
 * TCAV (Kim et al. 2018) and α-TCAV. For a class k, a layer l and a CAV v, each sample x of the class has the
 * conceptual sensitivity s(x) = ∇_{a} h_k(a)|_{a = f_l(x)} · v, the directional derivative of the class logit along the
 * concept direction. The TCAV score is the share of the samples with s(x) > 0. It is computed for CAVs trained
 * against several random counterexample sets and compared, by a two-sided t-test, with the scores of random CAVs
 * (one random set against another): a concept is significant when the two differ at level `alpha`.
 *
 * α-TCAV replaces the discontinuous indicator 1[s > 0] by a smooth one. Our parameterisation: σ(α · s(x)/‖∇h_k‖),
 * the logistic of α times the cosine between the gradient and the CAV; α → ∞ recovers TCAV (with ½ at s = 0), α = 0
 * gives ½ for every sample, and moderate α weights each sample by how clearly its gradient agrees with the concept.
 */
import { InvalidArgumentError } from '../errors.js';
import { mulberry32 } from '../seeded-random.js';
import { trainCav, type Cav, type CavOptions } from './cav.js';
import { subset, type Points } from './points.js';
import { mean, std, tTestIndependent, type TTest } from './stats.js';

export interface Sensitivity {
  /** s(x) per sample. */
  derivatives: Float64Array;
  /** Share with s(x) > 0. */
  tcav: number;
  /** Mean of σ(α·cos) — present when α is given. */
  alphaTcav?: number;
}

/** Scores one CAV on the class samples' gradients (gradients: one row per sample, same space as the CAV). */
export function sensitivity(gradients: Points, direction: Float64Array, alpha?: number): Sensitivity {
  const { n, d, data } = gradients;
  if (direction.length !== d) throw new InvalidArgumentError('cav', `has ${direction.length} features, the gradients ${d}`);
  if (alpha !== undefined && !(alpha >= 0)) throw new InvalidArgumentError('alpha', `must be ≥ 0, got ${alpha}`);
  const derivatives = new Float64Array(n);
  let positive = 0;
  let smooth = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    let g2 = 0;
    for (let j = 0; j < d; j++) {
      const g = data[i * d + j]!;
      s += g * direction[j]!;
      g2 += g * g;
    }
    derivatives[i] = s;
    if (s > 0) positive++;
    if (alpha !== undefined) {
      const cos = g2 > 0 ? s / Math.sqrt(g2) : 0;
      smooth += alpha === Infinity ? (cos > 0 ? 1 : cos < 0 ? 0 : 0.5) : 1 / (1 + Math.exp(-alpha * cos));
    }
  }
  return { derivatives, tcav: positive / n, ...(alpha !== undefined ? { alphaTcav: smooth / n } : {}) };
}

export interface TcavOptions extends CavOptions {
  /** Number of CAVs, each against a fresh random counterexample set (default 10). */
  runs?: number;
  /** Size of each random set (default: the number of concept examples, at most half the pool). */
  randomSize?: number;
  /** α of α-TCAV (default 10); also reported is the plain TCAV score. */
  alpha?: number;
  /** Significance level of the t-test (default 0.05). */
  significance?: number;
  seed?: number;
}

export interface TcavRun {
  cav: Cav;
  tcav: number;
  alphaTcav: number;
}

export interface TcavResult {
  runs: TcavRun[];
  randomRuns: TcavRun[];
  tcav: { mean: number; std: number };
  alphaTcav: { mean: number; std: number };
  random: { mean: number; std: number };
  randomAlpha: { mean: number; std: number };
  /** Concept TCAV scores against random CAVs' scores. */
  test: TTest;
  alphaTest: TTest;
  significant: boolean;
  alpha: number;
  significance: number;
}

function sample(pool: number, size: number, rand: () => number, exclude?: Set<number>): number[] {
  const idx: number[] = [];
  for (let i = 0; i < pool; i++) if (!exclude?.has(i)) idx.push(i);
  // Partial Fisher–Yates: the first `size` entries become a uniform random subset.
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(rand() * (idx.length - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, size);
}

/**
 * TCAV with repeated random counterexample sets: `concept` are the concept examples' activations, `pool` the
 * activations random sets are drawn from, `gradients` the class samples' logit gradients at the same layer.
 */
export function tcav(concept: Points, pool: Points, gradients: Points, options: TcavOptions = {}): TcavResult {
  const runs = options.runs ?? 10;
  if (!Number.isInteger(runs) || runs < 2) throw new InvalidArgumentError('runs', `must be an integer ≥ 2 (a t-test needs repetitions), got ${runs}`);
  const randomSize = options.randomSize ?? Math.min(concept.n, Math.floor(pool.n / 2));
  if (!Number.isInteger(randomSize) || randomSize < 1 || 2 * randomSize > pool.n) {
    throw new InvalidArgumentError('randomSize', `must be 1–${Math.floor(pool.n / 2)} (two disjoint random sets from a pool of ${pool.n}), got ${randomSize}`);
  }
  const alpha = options.alpha ?? 10;
  const significance = options.significance ?? 0.05;
  if (!(significance > 0 && significance < 1)) throw new InvalidArgumentError('significance', `must be in (0, 1), got ${significance}`);
  const rand = mulberry32(options.seed ?? 0);
  const cavOptions: CavOptions = { method: options.method, C: options.C };
  const conceptRuns: TcavRun[] = [];
  const randomRuns: TcavRun[] = [];
  for (let r = 0; r < runs; r++) {
    const counter = sample(pool.n, randomSize, rand);
    const cav = trainCav(concept, subset(pool, counter), cavOptions);
    const s = sensitivity(gradients, cav.direction, alpha);
    conceptRuns.push({ cav, tcav: s.tcav, alphaTcav: s.alphaTcav! });
    // A random "concept": one random set against another, disjoint one.
    const a = sample(pool.n, randomSize, rand);
    const b = sample(pool.n, randomSize, rand, new Set(a));
    const rcav = trainCav(subset(pool, a), subset(pool, b), cavOptions);
    const rs = sensitivity(gradients, rcav.direction, alpha);
    randomRuns.push({ cav: rcav, tcav: rs.tcav, alphaTcav: rs.alphaTcav! });
  }
  const stat = (v: number[]) => ({ mean: mean(v), std: std(v) });
  const test = tTestIndependent(conceptRuns.map((r) => r.tcav), randomRuns.map((r) => r.tcav));
  const alphaTest = tTestIndependent(conceptRuns.map((r) => r.alphaTcav), randomRuns.map((r) => r.alphaTcav));
  return {
    runs: conceptRuns,
    randomRuns,
    tcav: stat(conceptRuns.map((r) => r.tcav)),
    alphaTcav: stat(conceptRuns.map((r) => r.alphaTcav)),
    random: stat(randomRuns.map((r) => r.tcav)),
    randomAlpha: stat(randomRuns.map((r) => r.alphaTcav)),
    test,
    alphaTest,
    significant: test.p < significance,
    alpha,
    significance,
  };
}
