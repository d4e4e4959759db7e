/**
 * MetaQuantus meta-evaluation: the Wilcoxon test against scipy's values, IAC/IEC on hand-made cases, and the whole
 * procedure on a tiny deterministic subject whose IAC/IEC/MC can be worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { averageRanks, wilcoxon } from '../../src/metrics/meta/wilcoxon.js';
import { iacScore, iecAdversary, iecResilience, nanMean, nanStd } from '../../src/metrics/meta/consistency.js';
import { METAQUANTUS_DEFAULTS, METAQUANTUS_TESTS, runMetaEvaluation, uniformNoise, type MetaSubject } from '../../src/metrics/meta/run.js';
import type { Metric } from '../../src/metrics/types.js';

describe('wilcoxon (scipy.stats.wilcoxon, zero_method="zsplit", two-sided)', () => {
  it('matches scipy on exact and approximate cases', () => {
    // scipy 1.17: wilcoxon(d) for Fisher's data → statistic 24, p 0.041259765625 (exact).
    const fisher = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75];
    const r = wilcoxon(fisher, new Array(15).fill(0));
    expect(r.statistic).toBe(24);
    expect(r.method).toBe('exact');
    expect(r.pValue).toBeCloseTo(0.041259765625, 12);
    expect(wilcoxon([0.5, -0.25, 1.5, 2.0, -3.0, 0.75, 1.25], new Array(7).fill(0)).pValue).toBeCloseTo(0.375, 12);
    // n = 60 with ties: normal approximation with tie correction; scipy gives 0.7909930543239575.
    const x = Array.from({ length: 60 }, (_, i) => ((i * 37) % 17) / 3);
    const y = Array.from({ length: 60 }, (_, i) => ((i * 11) % 13) / 2.5);
    const big = wilcoxon(x, y);
    expect(big.statistic).toBe(879);
    expect(big.pValue).toBeCloseTo(0.7909930543239575, 6);
  });

  it('splits zero differences and uses the tie-corrected normal approximation for them', () => {
    // d = [1, −1, 2, 0]: ranks 2.5, 2.5, 4, 1 → W+ = 7, W− = 3; z = (3 − 5)/√(177/24).
    const r = wilcoxon([1, -1, 2, 0], [0, 0, 0, 0]);
    expect(r.statistic).toBe(3);
    expect(r.method).toBe('approx');
    expect(r.pValue).toBeCloseTo(0.4614509878333608, 6);
    expect(wilcoxon([1, 1, 1], [1, 1, 1]).pValue).toBe(1);
    expect(Number.isNaN(wilcoxon([], []).pValue)).toBe(true);
    expect(() => wilcoxon([1], [1, 2])).toThrow(/not paired/);
  });

  it('ranks ties by their average position', () => {
    const { ranks, tieSizes } = averageRanks([3, 1, 3, 2, 3]);
    expect(Array.from(ranks)).toEqual([4, 1, 4, 2, 4]);
    expect(tieSizes).toEqual([3]);
  });
});

describe('IAC and IEC', () => {
  it('IAC is p for NR and 1 − p for AR, over the kept, finite samples', () => {
    const q = [1, 2, 3, 4, 5, 6];
    const qHat = [2, 3, 4, 5, 6, NaN];
    // Kept and finite: samples 0–4, all differences −1 → ties, approximation: T = 0, z = (0 − 7.5)/√((330 − 60)/24).
    const p = 2 * 0.5 * erfcRef(7.5 / Math.sqrt(270 / 24) / Math.SQRT2);
    expect(iacScore(q, qHat, [true, true, true, true, true, true], 'resilience')).toBeCloseTo(p, 6);
    expect(iacScore(q, qHat, [true, true, true, true, true, true], 'adversary')).toBeCloseTo(1 - p, 6);
    expect(Number.isNaN(iacScore(q, qHat, [false, false, false, false, false, true], 'resilience'))).toBe(true);
  });

  it('IEC_NR counts rank positions that keep their method', () => {
    // 3 methods, 2 samples. Sample 0: order [2, 0, 1] before, [2, 1, 0] after → 1 of 3 positions agree.
    // Sample 1: [0, 1, 2] before and after → 3 of 3. Sample 2 is not kept.
    const qStar = [[0.5, 0.1, 9], [0.9, 0.2, 9], [0.1, 0.3, 9]];
    const qHat = [[0.95, 0.15, 0], [0.6, 0.25, 0], [0.05, 0.35, 0]];
    expect(iecResilience(qStar, qHat, [true, true, false])).toBeCloseTo(4 / 6, 12);
    expect(Number.isNaN(iecResilience(qStar, qHat, [false, false, false]))).toBe(true);
  });

  it("IEC_AR counts scores that got worse in the metric's own direction", () => {
    const qStar = [[1, 1], [2, 2]];
    const qHat = [[0.5, 1.5], [2, 1]];
    // higher is better: worse = decreased → (m0,s0) and (m1,s1) → 2 of 4.
    expect(iecAdversary(qStar, qHat, [true, true], 'higher')).toBe(0.5);
    // lower is better: worse = increased → (m0,s1) → 1 of 4.
    expect(iecAdversary(qStar, qHat, [true, true], 'lower')).toBe(0.25);
    expect(iecAdversary(qStar, qHat, [false, true], 'lower')).toBe(0.5);
  });

  it('nanMean / nanStd ignore NaN (population std)', () => {
    expect(nanMean([1, NaN, 3])).toBe(2);
    expect(nanStd([1, NaN, 3])).toBe(1);
    expect(Number.isNaN(nanMean([NaN]))).toBe(true);
  });
});

function erfcRef(x: number): number {
  // Series-free reference: erfc via the same identity the implementation avoids (numerical integration).
  const steps = 200000;
  const upper = 12;
  const h = (upper - x) / steps;
  let s = 0;
  for (let i = 0; i <= steps; i++) {
    const t = x + i * h;
    s += (i === 0 || i === steps ? 0.5 : 1) * Math.exp(-t * t);
  }
  return (2 / Math.sqrt(Math.PI)) * s * h;
}

/**
 * A subject whose behaviour is known exactly: explanation of method m = (m + 1) · x · w, where w = 1 for the
 * original model and w = 1 + σ for a "noisy" copy; the prediction flips (to class 1) only when σ ≥ 1.
 * Metric: mean attribution per sample, higher is better (so a noisy copy raises every score).
 */
function toySubject(w = 1, flipped = false): MetaSubject {
  return {
    predict: async (x, shape) => new Int32Array(shape[0]!).fill(flipped ? 1 : 0),
    explain: async (m, x) => x.map((v) => (m + 1) * v * w),
    context: () => ({}),
    withWeightNoise: async (std) => toySubject(1 + std, std >= 1),
  };
}

const meanMetric: Metric = {
  name: 'mean-attribution',
  category: 'complexity',
  direction: 'higher',
  needs: {},
  defaults: {},
  description: 'test metric',
  evaluate: async ({ a, shape }) => {
    const n = shape[0]!;
    const per = a.length / n;
    return { scores: Float64Array.from({ length: n }, (_, s) => a.subarray(s * per, (s + 1) * per).reduce((p, v) => p + v, 0) / per) };
  },
};

describe('runMetaEvaluation', () => {
  // 6 samples with distinct positive means: every perturbed score is above its unperturbed one.
  const x = Float32Array.from({ length: 12 }, (_, i) => 1 + i);
  const shape = [6, 2];

  it('model tests: IAC, IEC and MC follow from the subject by hand', async () => {
    const res = await runMetaEvaluation({
      subject: toySubject(),
      methods: ['a', 'b'],
      metric: meanMetric,
      x,
      shape,
      tests: [
        { name: 'Model Resilience Test', family: 'model', kind: 'resilience', noise: 0.001 },
        { name: 'Model Adversary Test', family: 'model', kind: 'adversary', noise: 2 },
      ],
      iterations: 2,
      perturbations: 3,
    });
    // NR: all 6 samples kept; every difference q − q̂ < 0 and distinct → exact p = 2 · 2^−6.
    const pAllNegative = 2 / 64;
    const nr = res.tests[0]!;
    expect(nr.keptFraction).toBe(1);
    expect(nr.iac.a).toHaveLength(6);
    for (const v of [...nr.iac.a!, ...nr.iac.b!]) expect(v).toBeCloseTo(pAllNegative, 12);
    // Method b's scores are twice a's before and after: the ranking never changes.
    expect(nr.iec.every((v) => v === 1)).toBe(true);
    // AR: every prediction flips, scores rise (better, for a higher-is-better metric) → IEC_AR = 0.
    const ar = res.tests[1]!;
    expect(ar.keptFraction).toBe(1);
    for (const v of ar.iac.a!) expect(v).toBeCloseTo(1 - pAllNegative, 12);
    expect(ar.iec.every((v) => v === 0)).toBe(true);
    const f = res.families.model!;
    expect(f.IAC_NR).toBeCloseTo(pAllNegative, 12);
    expect(f.IAC_AR).toBeCloseTo(1 - pAllNegative, 12);
    expect(f.IEC_NR).toBe(1);
    expect(f.IEC_AR).toBe(0);
    expect(f.MC).toBeCloseTo((pAllNegative + 1 - pAllNegative + 1 + 0) / 4, 12);
    expect(f.MCstd).toBeCloseTo(0, 12);
    // Treated as lower-is-better (MetaQuantus' convention) the rising scores would count as "worse": IEC_AR = 1.
    expect(ar.iecAllLowerIsBetter!.every((v) => v === 1)).toBe(true);
    expect(f.IEC_AR_allLowerIsBetter).toBe(1);
    expect(f.MC_allLowerIsBetter).toBeCloseTo((pAllNegative + 1 - pAllNegative + 1 + 1) / 4, 12);
    expect(nr.iecAllLowerIsBetter).toBeUndefined();
    expect(res.families.input).toBeUndefined();
    expect(res.mc).toBeCloseTo(0.5, 12);
    expect(res.tests[1]!.meanScore.a!.perturbed).toBeCloseTo(3 * res.tests[1]!.meanScore.a!.unperturbed, 9);
  });

  it('honours a lower-is-better direction in IEC_AR', async () => {
    const lower = { ...meanMetric, direction: 'lower' as const };
    const res = await runMetaEvaluation({
      subject: toySubject(),
      methods: ['a', 'b'],
      metric: lower,
      x,
      shape,
      tests: [
        { name: 'Model Resilience Test', family: 'model', kind: 'resilience', noise: 0.001 },
        { name: 'Model Adversary Test', family: 'model', kind: 'adversary', noise: 2 },
      ],
      iterations: 1,
      perturbations: 2,
    });
    expect(res.families.model!.IEC_AR).toBe(1);
  });

  it('input tests: explanations are not recomputed, so an x-independent metric never moves', async () => {
    const res = await runMetaEvaluation({ subject: toySubject(), methods: ['a', 'b'], metric: meanMetric, x, shape, tests: [{ name: 'Input Resilience Test', family: 'input', kind: 'resilience', noise: 0.5 }, { name: 'Input Adversary Test', family: 'input', kind: 'adversary', noise: 5 }], iterations: 1, perturbations: 2, seed: 3 });
    const f = res.families.input!;
    // q̂ = q: p = 1 (NR), ranking kept; the toy prediction never changes under input noise → AR keeps no sample.
    expect(f.IAC_NR).toBe(1);
    expect(f.IEC_NR).toBe(1);
    expect(Number.isNaN(f.IAC_AR)).toBe(true);
    expect(Number.isNaN(f.IEC_AR)).toBe(true);
    // MC needs all four parts: undefined, not an optimistic mean of the other two.
    expect(Number.isNaN(f.MC)).toBe(true);
    expect(Number.isNaN(res.mc)).toBe(true);
  });

  it("by default runs MetaQuantus' suite: 4 tests (σ 0.001 / 2, δ 0.001 / 5), 5 iterations × 10 perturbations", async () => {
    expect(METAQUANTUS_TESTS.map((t) => [t.family, t.kind, t.noise])).toEqual([
      ['model', 'resilience', 0.001],
      ['model', 'adversary', 2],
      ['input', 'resilience', 0.001],
      ['input', 'adversary', 5],
    ]);
    expect(METAQUANTUS_DEFAULTS).toEqual({ iterations: 5, perturbations: 10 });
    const stds: number[] = [];
    const base = toySubject();
    const subject: MetaSubject = { ...base, withWeightNoise: async (std, seed) => (stds.push(std), base.withWeightNoise(std, seed)) };
    const res = await runMetaEvaluation({ subject, methods: ['a', 'b'], metric: meanMetric, x, shape });
    expect(res.settings.iterations).toBe(5);
    expect(res.settings.perturbations).toBe(10);
    expect(res.settings.tests).toEqual([...METAQUANTUS_TESTS]);
    expect(res.tests.map((t) => t.test.name)).toEqual(['Model Resilience Test', 'Model Adversary Test', 'Input Resilience Test', 'Input Adversary Test']);
    for (const t of res.tests) {
      expect(t.iec).toHaveLength(50);
      expect(t.iac.a).toHaveLength(50);
    }
    // One noisy model copy per draw of each model test, with that test's σ.
    expect(stds.filter((s) => s === 0.001)).toHaveLength(50);
    expect(stds.filter((s) => s === 2)).toHaveLength(50);
    expect(stds).toHaveLength(100);
    // The model tests as worked out above: under σ = 0.001 every score rises (q̂ > q) and the ranking a < b stays.
    expect(res.families.model!.IEC_NR).toBe(1);
  });

  it('is reproducible and checks its arguments', async () => {
    const opts = { subject: toySubject(), methods: ['a', 'b'], metric: meanMetric, x, shape, iterations: 1, perturbations: 1, seed: 7 };
    const a = await runMetaEvaluation(opts);
    const b = await runMetaEvaluation(opts);
    expect(a.families).toEqual(b.families);
    await expect(runMetaEvaluation({ ...opts, methods: ['a'] })).rejects.toThrow(/at least 2/);
    await expect(runMetaEvaluation({ ...opts, iterations: 0 })).rejects.toThrow(/--iterations/);
    await expect(runMetaEvaluation({ ...opts, metric: { ...meanMetric, needs: { masks: true } } })).rejects.toThrow(/needs localisation masks/);
  });
});

describe('uniformNoise', () => {
  it('adds U(−δ, δ) and clips to the range of x, reproducibly', () => {
    const x = Float32Array.from([0, 0.5, 1, 0.25]);
    const a = uniformNoise(x, 0.1, 1);
    expect(Array.from(a)).toEqual(Array.from(uniformNoise(x, 0.1, 1)));
    for (let i = 0; i < x.length; i++) {
      expect(Math.abs(a[i]! - x[i]!)).toBeLessThanOrEqual(0.1 + 1e-7);
      expect(a[i]).toBeGreaterThanOrEqual(0);
      expect(a[i]).toBeLessThanOrEqual(1);
    }
    const big = uniformNoise(x, 100, 2);
    expect(big.every((v) => v === 0 || v === 1)).toBe(true);
  });
});
