/**
 * DFT-LRP (Vielhaben et al. 2024): relevance of a model on 1-D signals in the frequency (or time-frequency) domain.
 * A virtual inspection layer — the inverse DFT or STFT as a fixed linear map (weight-surgery/prepend-linear.ts) —
 * is prepended to the model, which then takes spectral coefficients and computes exactly what it computed on the
 * signal. LRP through the new model carries relevance onto the coefficients: the virtual layer gets the ε-rule (the
 * paper's choice: relevance at the signal redistributed in proportion to each coefficient's contribution), every
 * other layer the rule the chosen composite gives it in the original model.
 *
 * The default composite is epsilon-plus, not epsilon-plus-flat: the ε-rule divides by the signal, and the Flat rule on
 * the first convolution would give relevance that does not vanish where the signal does.
 */
import type { ModelProto } from 'onnx-buf';
import { namedComposite, type Composite } from '../composites/index.js';
import { planCompilation } from '../compiler/plan.js';
import { InvalidArgumentError } from '../errors.js';
import { ModelExplainer } from '../methods/explainer.js';
import type { Target } from '../methods/types.js';
import { size, type Tensor } from '../runtime/tensor.js';
import { prependLinear } from '../weight-surgery/prepend-linear.js';
import { binRelevance, dftCoefficients, dftSize, dftSynthesis, stftCoefficients, stftLayout, stftSynthesis, type StftLayout } from './dft.js';

export const DOMAINS = ['frequency', 'time-frequency'] as const;
export type Domain = (typeof DOMAINS)[number];

export interface FrequencyModelOptions {
  domain?: Domain;
  /** STFT window length (even; hop = window/2). Default 32. */
  window?: number;
  /** The model input to transform (default: the only input). */
  input?: string;
}

export interface FrequencyModel {
  /** The model with the virtual inspection layer in front. */
  model: ModelProto;
  input: string;
  /** The virtual layer's node. */
  node: string;
  domain: Domain;
  n: number;
  stft?: StftLayout;
  /** Coefficients of signals [count·…·N] as the new input wants them. */
  coefficients(x: ArrayLike<number>): Float32Array;
  /** Relevance of the coefficients folded to bins: per row, bins (frequency) or frames × bins (time-frequency). */
  fold(r: ArrayLike<number>): Float64Array;
  /** Bins per frame: N/2 + 1 or window/2 + 1. */
  bins: number;
  frames: number;
}

/** The model on spectral coefficients: the inverse DFT (or STFT) prepended to the input's last axis of length N. */
export function frequencyModel(model: ModelProto, n: number, options: FrequencyModelOptions = {}): FrequencyModel {
  const domain = options.domain ?? 'frequency';
  if (!DOMAINS.includes(domain)) throw new InvalidArgumentError('--domain', `must be one of ${DOMAINS.join(', ')}, got '${String(domain)}'`);
  if (domain === 'frequency') {
    const f = dftSize(n);
    const p = prependLinear(model, dftSynthesis(n), n, f, { input: options.input });
    return { model: p.model, input: p.input, node: p.node, domain, n, coefficients: (x) => dftCoefficients(x, n), fold: (r) => binRelevance(r, n), bins: n / 2 + 1, frames: 1 };
  }
  const layout = stftLayout(n, options.window ?? 32);
  const p = prependLinear(model, stftSynthesis(layout), n, layout.size, { input: options.input });
  return {
    model: p.model,
    input: p.input,
    node: p.node,
    domain,
    n,
    stft: layout,
    coefficients: (x) => stftCoefficients(x, layout),
    // Each frame is one row of window + 2 coefficients.
    fold: (r) => binRelevance(r, layout.window),
    bins: layout.window / 2 + 1,
    frames: layout.frames,
  };
}

/**
 * The composite for the frequency model: ε on the virtual layer, and the inner composite's rules elsewhere — its
 * first-layer rule moved to the original first layer, which is no longer first.
 */
export function virtualComposite(original: ModelProto, node: string, inner: Composite, epsilon = 1e-6): Composite {
  const first = planCompilation(original).firstLinear?.linear?.node.name;
  const entries = inner.entries.flatMap((e) => {
    if (!e.match.first) return [e];
    if (!first) return [];
    const { first: _drop, ...rest } = e.match;
    return [{ ...e, match: { ...rest, name: first } }];
  });
  return { ...inner, name: `dft-lrp(${inner.name})`, entries: [{ match: { name: node }, rule: 'epsilon', params: { epsilon } }, ...entries] };
}

export interface FrequencyRelevance {
  /** Per signal: bins (frequency) or frames × bins (time-frequency), frame-major. */
  relevance: Float64Array;
  bins: number;
  frames: number;
  targets: number[];
  /** Scores of the frequency model (equal to the original model's on the signals). */
  scores: Tensor;
}

/** DFT-LRP of signals [count, …, N] for `target` (default: the prediction). */
export async function explainFrequency(model: ModelProto, signals: Tensor, options: FrequencyModelOptions & { target?: Target; composite?: string; epsilon?: number; batch?: number } = {}): Promise<FrequencyRelevance> {
  const n = signals.dims.at(-1)!;
  const fm = frequencyModel(model, n, options);
  const composite = virtualComposite(model, fm.node, namedComposite(options.composite ?? 'epsilon-plus'), options.epsilon);
  const mx = await ModelExplainer.load(fm.model);
  const c = await mx.compiled({ method: 'lrp', composite });
  const count = signals.dims[0]!;
  const per = size(signals.dims) / count;
  const rows = per / n;
  const coefPer = (fm.domain === 'frequency' ? dftSize(n) : fm.stft!.size) * rows;
  const batch = options.batch ?? 64;
  const out = new Float64Array(count * rows * fm.frames * fm.bins);
  const targets: number[] = [];
  const scoreParts: Float32Array[] = [];
  let classes = 0;
  for (let s = 0; s < count; s += batch) {
    const e = Math.min(count, s + batch);
    const coef = fm.coefficients(signals.data.subarray(s * per, e * per));
    const x: Tensor = { data: coef, dims: [e - s, ...signals.dims.slice(1, -1), coefPer / rows] };
    const sc = await mx.scores(x);
    classes = size(sc.dims) / (e - s);
    const t = mx.resolveTargets(Array.isArray(options.target) ? options.target.slice(s, e) : options.target ?? 'pred', sc);
    const r = await mx.runCompiled(c, x, t, sc.dims);
    out.set(fm.fold(r[c.compiled.attributionNames[fm.input]!]!.data), s * rows * fm.frames * fm.bins);
    targets.push(...t);
    scoreParts.push(Float32Array.from(sc.data));
  }
  const scores = new Float32Array(count * classes);
  let o = 0;
  for (const p of scoreParts) {
    scores.set(p, o);
    o += p.length;
  }
  return { relevance: out, bins: fm.bins, frames: fm.frames * rows, targets, scores: { data: scores, dims: [count, classes] } };
}

/** Share of each row's positive relevance that lies in bins [lo, hi] (summed over frames). */
export function bandShare(relevance: Float64Array, bins: number, frames: number, band: readonly [number, number], row: number): number {
  const per = bins * frames;
  let inside = 0;
  let all = 0;
  for (let j = 0; j < per; j++) {
    const r = relevance[row * per + j]!;
    if (r <= 0) continue;
    all += r;
    const k = j % bins;
    if (k >= band[0] && k <= band[1]) inside += r;
  }
  return all > 0 ? inside / all : 0;
}
