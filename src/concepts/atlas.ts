/**
 * Reading reference samples back: a channel's top samples by a statistic, cropped to where the concept is (the
 * region where its conditional relevance on that sample exceeds a fraction of the maximum, zennit-crp's approach),
 * and a class's concept atlas (the channels with the highest mean relevance for the class over the dataset).
 */
import { InvalidArgumentError } from '../errors.js';
import type { Tensor } from '../runtime/tensor.js';
import type { CrpExplainer } from './crp.js';
import type { ReferenceState, SampleSource } from './references.js';
import type { TopK } from './topk.js';

export const REFERENCE_STATS = ['relevance', 'activation', 'activation-max'] as const;
export type ReferenceStat = (typeof REFERENCE_STATS)[number];

export interface ReferenceSample {
  index: number;
  value: number;
  /** Flat spatial position of the channel's maximum (activation or relevance) on this sample. */
  position: number;
}

function layerOf(state: ReferenceState, layer: string) {
  const L = state.layers[layer];
  if (!L) throw new InvalidArgumentError('layer', `no reference samples for '${layer}' (built for: ${Object.keys(state.layers).join(', ')})`);
  return L;
}

/** The top samples of one channel by a statistic; `cls` restricts relevance to samples whose target was that class. */
export function referenceSamples(state: ReferenceState, layer: string, channel: number, options: { stat?: ReferenceStat; cls?: number; n?: number } = {}): ReferenceSample[] {
  const L = layerOf(state, layer);
  if (!Number.isInteger(channel) || channel < 0 || channel >= L.channels) throw new InvalidArgumentError('channel', `channel ${channel} is out of range ('${layer}' has ${L.channels} channels)`);
  const stat = options.stat ?? 'relevance';
  let top: TopK | undefined;
  if (options.cls !== undefined) {
    if (stat !== 'relevance') throw new InvalidArgumentError('stat', 'per-class reference samples are by relevance');
    top = L.relByClass.get(options.cls);
    if (!top) return [];
  } else top = stat === 'relevance' ? L.relSum : stat === 'activation' ? L.actSum : L.actMax;
  return top.list(channel).slice(0, options.n ?? top.k).map(([value, index, position]) => ({ index, value, position }));
}

export interface AtlasConcept {
  channel: number;
  /** Mean (normalised) relevance of the channel over the class's samples. */
  meanRelevance: number;
  references: ReferenceSample[];
}

export interface ClassAtlas {
  layer: string;
  cls: number;
  samples: number;
  concepts: AtlasConcept[];
}

/** The concepts most relevant to a class over the dataset, each with its reference samples for that class. */
export function classAtlas(state: ReferenceState, layer: string, cls: number, options: { top?: number; refs?: number } = {}): ClassAtlas {
  const L = layerOf(state, layer);
  const count = state.classCount.get(cls) ?? 0;
  const sum = L.classSum.get(cls);
  if (!sum || count === 0) throw new InvalidArgumentError('class', `no sample of the dataset had class ${cls} as its target (classes seen: ${[...state.classCount.keys()].sort((a, b) => a - b).join(', ')})`);
  const order = Array.from({ length: L.channels }, (_, c) => c).sort((a, b) => sum[b]! - sum[a]! || a - b);
  const concepts = order.slice(0, options.top ?? 8).map((channel) => ({ channel, meanRelevance: sum[channel]! / count, references: referenceSamples(state, layer, channel, { cls, n: options.refs ?? 6 }) }));
  return { layer, cls, samples: count, concepts };
}

export interface AtlasComparison {
  layer: string;
  a: number;
  b: number;
  /** Channels among the top of both classes. */
  shared: number[];
  onlyA: number[];
  onlyB: number[];
  /** Per channel: mean relevance for a minus mean relevance for b, largest |difference| first. */
  differences: { channel: number; a: number; b: number; difference: number }[];
}

/** Compares two classes' atlases: which top concepts they share, and where their mean relevances differ most. */
export function compareAtlases(state: ReferenceState, layer: string, a: number, b: number, options: { top?: number } = {}): AtlasComparison {
  const top = options.top ?? 8;
  const A = classAtlas(state, layer, a, { top, refs: 0 });
  const Bc = classAtlas(state, layer, b, { top, refs: 0 });
  const L = layerOf(state, layer);
  const mean = (cls: number, c: number) => L.classSum.get(cls)![c]! / state.classCount.get(cls)!;
  const setA = new Set(A.concepts.map((c) => c.channel));
  const setB = new Set(Bc.concepts.map((c) => c.channel));
  const differences = Array.from({ length: L.channels }, (_, c) => ({ channel: c, a: mean(a, c), b: mean(b, c), difference: mean(a, c) - mean(b, c) })).sort((x, y) => Math.abs(y.difference) - Math.abs(x.difference) || x.channel - y.channel);
  return { layer, a, b, shared: [...setA].filter((c) => setB.has(c)), onlyA: [...setA].filter((c) => !setB.has(c)), onlyB: [...setB].filter((c) => !setA.has(c)), differences };
}

/** [y0, x0, y1, x1), end exclusive, in input pixels. */
export type Box = [number, number, number, number];

/**
 * The bounding box of the pixels whose relevance (summed over the input's channels) is above `threshold` × its
 * maximum; the whole image when no relevance is positive.
 */
export function relevanceBox(heatmap: Float32Array, dims: readonly number[], threshold = 0.1): Box {
  if (!(threshold >= 0 && threshold < 1)) throw new InvalidArgumentError('threshold', 'must be in [0, 1)');
  const [c, h, w] = dims.length === 4 ? [dims[1]!, dims[2]!, dims[3]!] : dims.length === 3 ? [dims[0]!, dims[1]!, dims[2]!] : [1, 1, dims[dims.length - 1]!];
  const plane = new Float32Array(h * w);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) plane[i]! += heatmap[ch * h * w + i]!;
  let max = 0;
  for (const v of plane) max = Math.max(max, v);
  if (max <= 0) return [0, 0, h, w];
  let y0 = h, x0 = w, y1 = 0, x1 = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (plane[y * w + x]! > threshold * max) {
        y0 = Math.min(y0, y);
        x0 = Math.min(x0, x);
        y1 = Math.max(y1, y + 1);
        x1 = Math.max(x1, x + 1);
      }
    }
  }
  return [y0, x0, y1, x1];
}

export interface CroppedReference extends ReferenceSample {
  target: number;
  box: Box;
  /** The sample's conditional heatmap for the concept, [1, …input]. */
  heatmap: Tensor;
}

/**
 * Crops for reference samples: each sample's conditional heatmap for (layer, channel) — for the sample's target —
 * in one batched CRP run, and the box where it exceeds `threshold` × its maximum.
 */
export async function cropReferences(crp: CrpExplainer, source: SampleSource, refs: readonly ReferenceSample[], targets: readonly number[], layer: string, channel: number, options: { threshold?: number; composite?: string } = {}): Promise<CroppedReference[]> {
  if (refs.length === 0) return [];
  const per = source.sampleShape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(refs.length * per);
  refs.forEach((r, i) => {
    if (r.index < 0 || r.index >= source.size) throw new InvalidArgumentError('references', `sample ${r.index} is not in the dataset (${source.size} samples)`);
    data.set(source.batch(r.index, 1).data, i * per);
  });
  const hm = await crp.heatmapsFor({ data, dims: [refs.length, ...source.sampleShape] }, targets, [{ tensor: layer, channels: [channel] }], { composite: options.composite });
  return refs.map((r, i) => {
    const heatmap = { data: hm.data.slice(i * per, (i + 1) * per), dims: [1, ...source.sampleShape] };
    return { ...r, target: targets[i]!, box: relevanceBox(heatmap.data, heatmap.dims, options.threshold ?? 0.1), heatmap };
  });
}
