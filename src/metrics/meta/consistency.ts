/**
 * MetaQuantus' consistency scores (Hedström et al., 2023, "The Meta-Evaluation Problem in Explainable AI").
 *
 * A perturbation test compares a metric's scores before (q) and after (q̂) a perturbation, on the samples the test
 * keeps (`indices`: prediction unchanged for a noise-resilience (NR) test, changed for an adversary-reactivity (AR)
 * test):
 * - IAC (intra-consistency): the Wilcoxon signed-rank p-value of q vs q̂ per explanation method — high when the
 *   scores did not move (wanted under NR); AR reports 1 − p (the scores should move).
 * - IEC (inter-consistency), NR: the fraction of (sample, rank position) pairs at which the ranking of the
 *   explanation methods by their scores is the same before and after.
 *   AR: the fraction of (method, sample) pairs whose quality got worse.
 * "Worse" depends on the metric's direction, and only IEC_AR depends on it. MetaQuantus does not take the
 * direction from the metric: it is a `lower_is_better` flag the caller passes per run, and the released package's
 * score-direction handling ends up treating every metric as lower-is-better — so a higher-is-better metric
 * (Sparseness, Pointing-Game …) would be credited in IEC_AR when its score *improves* under a disruptive
 * perturbation. xsys uses each metric's declared direction: worse ⇔ q̂ < q for higher-is-better, q̂ > q for
 * lower-is-better.
 * Samples whose score is NaN (metric undefined) are left out of every comparison they appear in.
 */
import type { ScoreDirection } from '../types.js';
import { wilcoxon } from './wilcoxon.js';

export type TestKind = 'resilience' | 'adversary';

/** IAC of one method for one perturbation: p (NR) or 1 − p (AR) of Wilcoxon(q, q̂) over the kept samples. */
export function iacScore(q: ArrayLike<number>, qHat: ArrayLike<number>, indices: ArrayLike<boolean>, kind: TestKind): number {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < q.length; i++) {
    if (indices[i] && Number.isFinite(q[i]!) && Number.isFinite(qHat[i]!)) {
      a.push(q[i]!);
      b.push(qHat[i]!);
    }
  }
  const p = wilcoxon(a, b).pValue;
  return kind === 'adversary' ? 1 - p : p;
}

/** Samples kept for IEC: in `indices` and finite for every method before and after. */
function keptSamples(qStar: readonly ArrayLike<number>[], qHat: readonly ArrayLike<number>[], indices: ArrayLike<boolean>): number[] {
  const out: number[] = [];
  for (let s = 0; s < indices.length; s++) {
    if (!indices[s]) continue;
    if (qStar.every((row) => Number.isFinite(row[s]!)) && qHat.every((row) => Number.isFinite(row[s]!))) out.push(s);
  }
  return out;
}

/** Order of the methods by score for one sample (ascending, stable: ties keep method order). */
function ranking(rows: readonly ArrayLike<number>[], s: number): number[] {
  return rows.map((_, m) => m).sort((a, b) => rows[a]![s]! - rows[b]![s]! || a - b);
}

/** IEC under NR: share of rank positions holding the same method before and after. NaN if no sample is kept. */
export function iecResilience(qStar: readonly ArrayLike<number>[], qHat: readonly ArrayLike<number>[], indices: ArrayLike<boolean>): number {
  let agree = 0;
  let total = 0;
  for (const s of keptSamples(qStar, qHat, indices)) {
    const r0 = ranking(qStar, s);
    const r1 = ranking(qHat, s);
    for (let p = 0; p < r0.length; p++) {
      if (r0[p] === r1[p]) agree++;
      total++;
    }
  }
  return total ? agree / total : NaN;
}

/** IEC under AR: share of (method, sample) pairs whose quality got worse in the metric's direction. */
export function iecAdversary(qStar: readonly ArrayLike<number>[], qHat: readonly ArrayLike<number>[], indices: ArrayLike<boolean>, direction: ScoreDirection): number {
  let worse = 0;
  let total = 0;
  for (const s of keptSamples(qStar, qHat, indices)) {
    for (let m = 0; m < qStar.length; m++) {
      const before = qStar[m]![s]!;
      const after = qHat[m]![s]!;
      if (direction === 'higher' ? after < before : after > before) worse++;
      total++;
    }
  }
  return total ? worse / total : NaN;
}

/** Mean of the finite values (NaN when there are none). */
export function nanMean(values: ArrayLike<number>): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i]!)) {
      sum += values[i]!;
      n++;
    }
  }
  return n ? sum / n : NaN;
}

/** Population standard deviation of the finite values (NumPy's default ddof = 0). */
export function nanStd(values: ArrayLike<number>): number {
  const m = nanMean(values);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i]!)) {
      sum += (values[i]! - m) ** 2;
      n++;
    }
  }
  return n ? Math.sqrt(sum / n) : NaN;
}
