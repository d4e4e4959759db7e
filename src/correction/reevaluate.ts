/**
 * Re-evaluating a corrected model (Reveal to Revise, step 4): accuracy on a clean test set and on the same set with
 * the artefact pasted in, the share of the artefact class's positive input relevance that falls on the artefact, and
 * TCAV of the artefact concept at a layer — the same numbers for the model before and after a correction.
 */
import { InvalidArgumentError } from '../errors.js';
import { explain } from '../methods/explain.js';
import type { ModelExplainer } from '../methods/explainer.js';
import { argmaxRows, size, type Tensor } from '../runtime/tensor.js';
import { layerActivations, layerGradients } from '../strategies/features.js';
import { tcav } from '../strategies/tcav.js';

export interface ReevaluationSets {
  /** Clean test inputs and their labels. */
  clean: Tensor;
  labels: ArrayLike<number>;
  /** The same inputs with the artefact pasted in. */
  pasted: Tensor;
  /** Where the artefact lies: one h·w mask for every input. */
  region: Uint8Array;
  /** The class the artefact was a shortcut for. */
  artefactClass: number;
  /** TCAV of the artefact concept: concept examples, the pool random sets come from, the class's inputs, the layer. */
  tcav?: { concept: Tensor; pool: Tensor; classInputs: Tensor; layer: string; runs?: number; randomSize?: number; seed?: number };
}

export interface ModelEvaluation {
  cleanAccuracy: number;
  artefactAccuracy: number;
  /** cleanAccuracy − artefactAccuracy. */
  gap: number;
  /** Share of the pasted inputs of other classes that the model assigns to the artefact class. */
  flippedToClass: number;
  /** Mean over the pasted inputs of Σ_region R⁺ / Σ R⁺ for the artefact class (LRP). */
  relevanceShare: number;
  tcav?: { score: number; random: number; alphaScore: number; p: number; significant: boolean };
}

function slice(t: Tensor, start: number, end: number): Tensor {
  const per = size(t.dims) / t.dims[0]!;
  return { data: t.data.subarray(start * per, end * per), dims: [end - start, ...t.dims.slice(1)] };
}

async function predictions(mx: ModelExplainer, x: Tensor, batch: number): Promise<number[]> {
  const out: number[] = [];
  const n = x.dims[0]!;
  for (let s = 0; s < n; s += batch) {
    const e = Math.min(n, s + batch);
    const sc = await mx.scores(slice(x, s, e));
    out.push(...argmaxRows(sc.data, e - s));
  }
  return out;
}

/** Σ_region R⁺ / Σ R⁺ per heatmap (inputs [n, c, h, w], summed over c), averaged. */
export function regionShare(attribution: Tensor, region: Uint8Array): number {
  const n = attribution.dims[0]!;
  const per = size(attribution.dims) / n;
  const hw = region.length;
  if (per % hw !== 0) throw new InvalidArgumentError('region', `a mask of ${hw} values does not fit inputs of ${per}`);
  let total = 0;
  let counted = 0;
  for (let i = 0; i < n; i++) {
    let inside = 0;
    let all = 0;
    for (let j = 0; j < per; j++) {
      const r = attribution.data[i * per + j]!;
      if (r <= 0) continue;
      all += r;
      if (region[j % hw]) inside += r;
    }
    if (all > 0) {
      total += inside / all;
      counted++;
    }
  }
  return counted ? total / counted : 0;
}

export async function evaluateModel(mx: ModelExplainer, sets: ReevaluationSets, options: { composite?: string; shareSamples?: number; batch?: number } = {}): Promise<ModelEvaluation> {
  const n = sets.clean.dims[0]!;
  if (sets.pasted.dims[0] !== n || sets.labels.length !== n) throw new InvalidArgumentError('pasted', `the clean set has ${n} inputs, the pasted ${sets.pasted.dims[0]}, the labels ${sets.labels.length}`);
  const batch = options.batch ?? 128;
  const [pc, pa] = [await predictions(mx, sets.clean, batch), await predictions(mx, sets.pasted, batch)];
  let okC = 0;
  let okA = 0;
  let others = 0;
  let flipped = 0;
  for (let i = 0; i < n; i++) {
    if (pc[i] === sets.labels[i]) okC++;
    if (pa[i] === sets.labels[i]) okA++;
    if (sets.labels[i] !== sets.artefactClass) {
      others++;
      if (pa[i] === sets.artefactClass) flipped++;
    }
  }
  // The relevance share on the first shareSamples pasted inputs, for the artefact class.
  const m = Math.min(n, options.shareSamples ?? 200);
  let shareSum = 0;
  for (let s = 0; s < m; s += 64) {
    const e = Math.min(m, s + 64);
    const ex = await explain(mx, slice(sets.pasted, s, e), { method: 'lrp', composite: options.composite, target: sets.artefactClass });
    shareSum += regionShare(ex.attribution, sets.region) * (e - s);
  }
  const cleanAccuracy = okC / n;
  const artefactAccuracy = okA / n;
  const result: ModelEvaluation = { cleanAccuracy, artefactAccuracy, gap: cleanAccuracy - artefactAccuracy, flippedToClass: others ? flipped / others : 0, relevanceShare: shareSum / m };
  if (sets.tcav) {
    const t = sets.tcav;
    const concept = await layerActivations(mx, t.concept, t.layer, 'flatten');
    const pool = await layerActivations(mx, t.pool, t.layer, 'flatten');
    const grads = await layerGradients(mx, t.classInputs, t.layer, sets.artefactClass, 'flatten');
    const r = tcav(concept, pool, grads, { method: 'pattern', runs: t.runs ?? 10, randomSize: t.randomSize, seed: t.seed ?? 0 });
    result.tcav = { score: r.tcav.mean, random: r.random.mean, alphaScore: r.alphaTcav.mean, p: r.test.p, significant: r.significant };
  }
  return result;
}

export interface Reevaluation {
  before: ModelEvaluation;
  after: ModelEvaluation;
  /** after.gap / before.gap: below 0.5 when the correction at least halves the gap. */
  gapRatio: number;
  /** Clean-accuracy loss in percentage points. */
  cleanLossPoints: number;
}

export async function reevaluate(before: ModelExplainer, after: ModelExplainer, sets: ReevaluationSets, options: { composite?: string; shareSamples?: number } = {}): Promise<Reevaluation> {
  const b = await evaluateModel(before, sets, options);
  const a = await evaluateModel(after, sets, options);
  return { before: b, after: a, gapRatio: b.gap !== 0 ? a.gap / b.gap : 0, cleanLossPoints: 100 * (b.cleanAccuracy - a.cleanAccuracy) };
}
