/**
 * MetaQuantus' meta-evaluation of one metric: the model and input perturbation tests, each as a noise-resilience
 * (NR) and an adversary-reactivity (AR) variant, scored with IAC/IEC (consistency.ts) and summarised as the
 * meta-consistency MC per perturbation family and MC̄ over both.
 *
 * Procedure (as MetaQuantus' MetaEvaluation and its ModelPerturbationTest/InputPerturbationTest):
 * - y = predictions of the unperturbed model; explanations are always of y.
 * - Unperturbed quality q[method] = metric(x, y, explain(x, y)).
 * - `iterations` × `perturbations` draws per test. Model tests: every float parameter × ε, ε ~ N(1, σ); the
 *   explanations are recomputed with the perturbed model and scored with it. Input tests: x̃ = x + U(−δ, δ),
 *   clipped to x's range; the unperturbed explanations are scored on x̃.
 * - Samples kept per draw: prediction unchanged (NR) / changed (AR).
 * Differences from MetaQuantus, on purpose: (1) each metric's own score direction is used in IEC_AR (see
 * consistency.ts); (2) input noise is clipped to [min x, max x] (MetaQuantus' upper bound is the perturbed max, so it
 * only clips below); (3) every draw is seeded, so a run is reproducible; (4) NaN scores are left out per sample.
 */
import type { Metric, MetricContext, MetricParams, MetricResult, ScoreDirection } from '../types.js';
import { InvalidArgumentError } from '../../errors.js';
import { mulberry32 } from '../../seeded-random.js';
import { iacScore, iecAdversary, iecResilience, nanMean, nanStd, type TestKind } from './consistency.js';

export type PerturbationFamily = 'model' | 'input';

export interface MetaTest {
  /** e.g. 'Model Resilience Test'. */
  name: string;
  family: PerturbationFamily;
  kind: TestKind;
  /** Model tests: σ of the multiplicative N(1, σ) weight noise. Input tests: δ of the additive U(−δ, δ) noise. */
  noise: number;
}

/** MetaQuantus' test suite for MNIST-sized data (setup_test_suite): σ 0.001 / 2.0, δ 0.001 / 5.0. */
export const METAQUANTUS_TESTS: readonly MetaTest[] = [
  { name: 'Model Resilience Test', family: 'model', kind: 'resilience', noise: 0.001 },
  { name: 'Model Adversary Test', family: 'model', kind: 'adversary', noise: 2.0 },
  { name: 'Input Resilience Test', family: 'input', kind: 'resilience', noise: 0.001 },
  { name: 'Input Adversary Test', family: 'input', kind: 'adversary', noise: 5.0 },
];

/** MetaEvaluation's defaults: 5 iterations of 10 perturbations each. */
export const METAQUANTUS_DEFAULTS = { iterations: 5, perturbations: 10 } as const;

/** What the meta-evaluation needs from a model: predictions, explanations, a metric context, noisy copies. */
export interface MetaSubject {
  predict(x: Float32Array, shape: readonly number[]): Promise<Int32Array>;
  /** Attributions of `targets` with explanation method number `method`. */
  explain(method: number, x: Float32Array, shape: readonly number[], targets: Int32Array): Promise<Float32Array>;
  /** The metric context (score/explain/model) of method number `method` on this model. */
  context(method: number): MetricContext;
  /** A copy with multiplicative N(1, std) noise on every parameter, reproducible from `seed`. */
  withWeightNoise(std: number, seed: number): Promise<MetaSubject>;
  /** Frees what the copy holds (ORT sessions); optional. */
  release?(): Promise<void>;
}

export interface MetaEvaluationOptions {
  subject: MetaSubject;
  /** Labels of the explanation methods, in the subject's method order (at least 2 for IEC). */
  methods: readonly string[];
  metric: Metric;
  params?: Partial<MetricParams>;
  x: Float32Array;
  shape: readonly number[];
  masks?: Float32Array;
  tests?: readonly MetaTest[];
  iterations?: number;
  perturbations?: number;
  seed?: number;
  batchSize?: number;
  /** (draws done, draws total). */
  onProgress?: (done: number, total: number) => void;
}

export interface MetaTestResult {
  test: MetaTest;
  /** IAC per method, one value per draw (iterations × perturbations, iteration-major). */
  iac: Record<string, number[]>;
  /** IEC per draw. */
  iec: number[];
  /**
   * AR tests only: IEC with every metric taken as lower-is-better, the convention MetaQuantus' code ends up with —
   * kept beside the direction-aware `iec` so the effect of the difference can be read off.
   */
  iecAllLowerIsBetter?: number[];
  /** Mean share of samples kept per draw (prediction unchanged for NR, changed for AR). */
  keptFraction: number;
  iacMean: number;
  iecMean: number;
  /** Mean metric score per method, unperturbed and averaged over the draws (perturbed). */
  meanScore: Record<string, { unperturbed: number; perturbed: number }>;
}

export interface FamilyScores {
  IAC_NR: number;
  IAC_AR: number;
  IEC_NR: number;
  IEC_AR: number;
  /** IEC_AR and MC as they come out when every metric is treated as lower-is-better (MetaQuantus' convention). */
  IEC_AR_allLowerIsBetter: number;
  MC_allLowerIsBetter: number;
  /** Mean of the four. */
  MC: number;
  /** Standard deviation over iterations of the per-iteration MC (MetaQuantus' MC_std). */
  MCstd: number;
}

export interface MetaEvaluationResult {
  metric: string;
  category: string;
  direction: ScoreDirection;
  methods: string[];
  samples: number;
  tests: MetaTestResult[];
  families: Partial<Record<PerturbationFamily, FamilyScores>>;
  /** MC̄: mean of the families' MC. */
  mc: number;
  settings: { iterations: number; perturbations: number; seed: number; tests: MetaTest[] };
  timing: { totalMs: number };
}

/** Deterministic per-draw seed from the run seed and the draw's coordinates. */
function drawSeed(seed: number, ...parts: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const p of parts) {
    h = Math.imul(h ^ (p + 0x7f4a7c15), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
  }
  return h >>> 0;
}

/** x + U(−δ, δ), clipped to [min x, max x]. */
export function uniformNoise(x: Float32Array, delta: number, seed: number): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const rand = mulberry32(seed);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.min(hi, Math.max(lo, x[i]! + (2 * rand() - 1) * delta));
  return out;
}

export async function runMetaEvaluation(options: MetaEvaluationOptions): Promise<MetaEvaluationResult> {
  const t0 = performance.now();
  const { subject, metric, x, shape, masks } = options;
  const methods = [...options.methods];
  const tests = [...(options.tests ?? METAQUANTUS_TESTS)];
  const iterations = options.iterations ?? METAQUANTUS_DEFAULTS.iterations;
  const perturbations = options.perturbations ?? METAQUANTUS_DEFAULTS.perturbations;
  const seed = options.seed ?? 0;
  if (methods.length < 2) throw new InvalidArgumentError('--methods', `meta-evaluation compares explanation methods and needs at least 2, got ${methods.length}`, 'MetaQuantus uses 4–6 methods, e.g. --methods lrp:epsilon-plus-flat,gradient,gradient-x-input,integrated-gradients');
  if (!(Number.isInteger(iterations) && iterations >= 1)) throw new InvalidArgumentError('--iterations', `must be a positive integer, got ${iterations}`);
  if (!(Number.isInteger(perturbations) && perturbations >= 1)) throw new InvalidArgumentError('--perturbations', `must be a positive integer, got ${perturbations}`);
  if (metric.needs.masks && !masks) throw new InvalidArgumentError('--masks', `metric '${metric.name}' needs localisation masks`, 'pass --masks <file> or --masks threshold:T');
  for (const t of tests) if (!(Number.isFinite(t.noise) && t.noise > 0)) throw new InvalidArgumentError('--tests', `${t.name}: noise must be positive, got ${t.noise}`);

  const score = async (subj: MetaSubject, m: number, xs: Float32Array, y: Int32Array, a: Float32Array, metricSeed: number): Promise<MetricResult> =>
    metric.evaluate({ x: xs, shape, y, a, s: masks }, { ...subj.context(m), batchSize: options.batchSize ?? subj.context(m).batchSize, seed: metricSeed }, options.params);

  const y = await subject.predict(x, shape);
  const baseA: Float32Array[] = [];
  for (let m = 0; m < methods.length; m++) baseA.push(await subject.explain(m, x, shape, y));

  const total = tests.length * iterations * perturbations;
  let done = 0;
  const results: MetaTestResult[] = [];
  for (const [ti, test] of tests.entries()) {
    // Unperturbed quality per test (MetaQuantus scores it once per test).
    const q: Float64Array[] = [];
    for (let m = 0; m < methods.length; m++) q.push((await score(subject, m, x, y, baseA[m]!, drawSeed(seed, ti, 0xffff, m))).scores);
    const iac: Record<string, number[]> = Object.fromEntries(methods.map((name) => [name, [] as number[]]));
    const iec: number[] = [];
    const iecLower: number[] = [];
    const perturbedSum = new Float64Array(methods.length);
    let kept = 0;
    for (let it = 0; it < iterations; it++) {
      for (let k = 0; k < perturbations; k++) {
        const s = drawSeed(seed, ti, it, k);
        const qHat: Float64Array[] = [];
        let yHat: Int32Array;
        if (test.family === 'model') {
          const noisy = await subject.withWeightNoise(test.noise, s);
          yHat = await noisy.predict(x, shape);
          for (let m = 0; m < methods.length; m++) {
            const a = await noisy.explain(m, x, shape, y);
            qHat.push((await score(noisy, m, x, y, a, drawSeed(s, m))).scores);
          }
          await noisy.release?.();
        } else {
          const xHat = uniformNoise(x, test.noise, s);
          yHat = await subject.predict(xHat, shape);
          for (let m = 0; m < methods.length; m++) qHat.push((await score(subject, m, xHat, y, baseA[m]!, drawSeed(s, m))).scores);
        }
        const indices = Array.from(y, (v, i) => (test.kind === 'resilience' ? yHat[i] === v : yHat[i] !== v));
        kept += indices.filter(Boolean).length / y.length;
        methods.forEach((name, m) => {
          iac[name]!.push(iacScore(q[m]!, qHat[m]!, indices, test.kind));
          perturbedSum[m]! += nanMean(qHat[m]!);
        });
        iec.push(test.kind === 'resilience' ? iecResilience(q, qHat, indices) : iecAdversary(q, qHat, indices, metric.direction));
        if (test.kind === 'adversary') iecLower.push(iecAdversary(q, qHat, indices, 'lower'));
        options.onProgress?.(++done, total);
      }
    }
    const draws = iterations * perturbations;
    results.push({
      test,
      iac,
      iec,
      ...(test.kind === 'adversary' ? { iecAllLowerIsBetter: iecLower } : {}),
      keptFraction: kept / draws,
      iacMean: nanMean(methods.flatMap((name) => iac[name]!)),
      iecMean: nanMean(iec),
      meanScore: Object.fromEntries(methods.map((name, m) => [name, { unperturbed: nanMean(q[m]!), perturbed: perturbedSum[m]! / draws }])),
    });
  }

  const families: Partial<Record<PerturbationFamily, FamilyScores>> = {};
  for (const family of ['model', 'input'] as const) {
    const nr = results.find((r) => r.test.family === family && r.test.kind === 'resilience');
    const ar = results.find((r) => r.test.family === family && r.test.kind === 'adversary');
    if (!nr || !ar) continue;
    // Per-iteration values (mean over methods and the iteration's perturbations), as MetaQuantus' MC_means.
    const perIteration = (r: MetaTestResult, which: 'iac' | 'iec'): number[] =>
      Array.from({ length: iterations }, (_, it) => {
        const slice = (arr: number[]) => arr.slice(it * perturbations, (it + 1) * perturbations);
        return which === 'iec' ? nanMean(slice(r.iec)) : nanMean(methods.flatMap((name) => slice(r.iac[name]!)));
      });
    const parts = [perIteration(nr, 'iac'), perIteration(ar, 'iac'), perIteration(nr, 'iec'), perIteration(ar, 'iec')];
    // MC needs all four parts: a test that kept no sample in any draw (e.g. no prediction ever flipped under AR)
    // leaves its part undefined, and so MC — averaging the other three would overstate the metric.
    const mean4 = (v: number[]) => (v.every(Number.isFinite) ? (v[0]! + v[1]! + v[2]! + v[3]!) / 4 : NaN);
    const mcPerIteration = Array.from({ length: iterations }, (_, it) => mean4(parts.map((p) => p[it]!)));
    const [iacNr, iacAr, iecNr, iecAr] = parts.map(nanMean) as [number, number, number, number];
    const iecArLower = nanMean(ar.iecAllLowerIsBetter ?? []);
    families[family] = {
      IAC_NR: iacNr,
      IAC_AR: iacAr,
      IEC_NR: iecNr,
      IEC_AR: iecAr,
      MC: mean4([iacNr, iacAr, iecNr, iecAr]),
      MCstd: nanStd(mcPerIteration),
      IEC_AR_allLowerIsBetter: iecArLower,
      MC_allLowerIsBetter: mean4([iacNr, iacAr, iecNr, iecArLower]),
    };
  }
  const mcs = Object.values(families).map((f) => f.MC);
  // MC̄ likewise needs every family's MC.
  return {
    metric: metric.name,
    category: metric.category,
    direction: metric.direction,
    methods,
    samples: shape[0]!,
    tests: results,
    families,
    mc: mcs.length && mcs.every(Number.isFinite) ? mcs.reduce((a, b) => a + b, 0) / mcs.length : NaN,
    settings: { iterations, perturbations, seed, tests },
    timing: { totalMs: performance.now() - t0 },
  };
}
