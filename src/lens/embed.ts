/**
 * SemanticLens' semantic embedding of components: every channel of the chosen layers is represented by the mean
 * normalised foundation-model embedding of its top reference samples, each cropped to the concept (the crops of
 * src/concepts/atlas.ts: where the channel's conditional relevance exceeds a fraction of its maximum). Per component
 * the measures that need only the sample embeddings: clarity, a polysemanticity hint, and (across components)
 * redundancy. The result is a LensIndex, stored as JSON with its provenance.
 */
import { readFile } from 'node:fs/promises';
import { FileFormatError, InvalidArgumentError, XsysError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { VERSION } from '../version.js';
import { argmaxRows } from '../runtime/tensor.js';
import type { CrpExplainer } from '../concepts/crp.js';
import { cropReferences, referenceSamples, REFERENCE_STATS, type Box, type ReferenceStat } from '../concepts/atlas.js';
import type { ReferenceState, SampleSource } from '../concepts/references.js';
import type { ReferenceProvenance } from '../concepts/store.js';
import type { RasterImage } from '../render/heatmap.js';
import type { FoundationModel } from './foundation.js';
import { clusterRows } from './cluster.js';

export interface LensSpec {
  layers: string[];
  /** Reference samples embedded per component. */
  samples: number;
  stat: ReferenceStat;
  /** Crop to where the conditional relevance exceeds this fraction of its maximum. */
  threshold: number;
}

export interface LensSample {
  index: number;
  value: number;
  target: number;
  box: Box;
}

export interface Polysemanticity {
  /** 1 − ‖mean of the unit sample embeddings‖: 0 when all samples embed alike, up to 1 when they cancel out. */
  spread: number;
  /** Silhouette of the best 2-way split of the sample embeddings (cosine distance). */
  silhouette: number;
  /** Cosine between the two halves' mean directions. */
  centroidCosine: number;
  /**
   * 2 when the split is clear — silhouette ≥ POLY_SILHOUETTE, both halves ≥ 2 samples, and the halves point apart
   * (centroid cosine < POLY_CENTROID_COSINE: a one-digit component splits into sub-styles that stay close) — else 1.
   */
  clusters: 1 | 2;
}

export interface LensComponent {
  layer: string;
  channel: number;
  /** Unit-norm mean of the sample embeddings. */
  embedding: number[];
  /** Mean pairwise cosine of the sample embeddings (SemanticLens' clarity), in [−1, 1]. */
  clarity: number;
  polysemanticity: Polysemanticity;
  samples: LensSample[];
  sampleEmbeddings: number[][];
}

export interface LensProvenance {
  format: 'xsys-lens-index';
  version: 1;
  xsys: string;
  model: ReferenceProvenance['model'];
  dataset: ReferenceProvenance['dataset'];
  /** The composite and targets of the reference samples (the crops use the same). */
  references: { composite?: string; targets: 'prediction' | 'label' };
  foundation: { name: string; sha256: string; dim: number };
  spec: LensSpec;
  createdAt: string;
  /** The workbench's reference-set id the index was built from (set by the lens-embed job). */
  referenceSet?: string;
}

export interface LensIndex {
  provenance: LensProvenance;
  components: LensComponent[];
  /** Components left out: no reference sample expresses them (every value ≤ 0: a dead unit). */
  skipped: { layer: string; channel: number; reason: string }[];
}

export const POLY_SILHOUETTE = 0.25;
export const POLY_CENTROID_COSINE = 0.3;
export const MAX_LENS_SAMPLES = 64;

export function validateLensSpec(spec: LensSpec, state: ReferenceState): void {
  if (!Array.isArray(spec.layers) || spec.layers.length === 0) throw new InvalidArgumentError('layers', 'choose at least one layer');
  for (const l of spec.layers) if (!state.layers[l]) throw new InvalidArgumentError('layers', `no reference samples for '${l}' (built for: ${Object.keys(state.layers).join(', ')})`, 'build references for that layer first (xsys concepts build --layers …)');
  if (!Number.isInteger(spec.samples) || spec.samples < 2 || spec.samples > MAX_LENS_SAMPLES) throw new InvalidArgumentError('samples', `must be an integer in 2…${MAX_LENS_SAMPLES}`);
  if (!REFERENCE_STATS.includes(spec.stat)) throw new InvalidArgumentError('stat', `must be one of ${REFERENCE_STATS.join(', ')}`);
  if (!(spec.threshold >= 0 && spec.threshold < 1)) throw new InvalidArgumentError('threshold', 'must be in [0, 1)');
}

/** Mean pairwise cosine of unit rows: (‖Σe‖² − n) / (n(n − 1)). */
export function clarityOf(rows: Float32Array, n: number, d: number): number {
  if (n < 2) return 1;
  const sum = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) sum[j]! += rows[i * d + j]!;
  let sq = 0;
  for (const v of sum) sq += v * v;
  return (sq - n) / (n * (n - 1));
}

/** Unit-norm mean of rows (the component's embedding). */
export function meanDirection(rows: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[j]! += rows[i * d + j]!;
  let s = 0;
  for (const v of out) s += v * v;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let j = 0; j < d; j++) out[j]! *= inv;
  return out;
}

export function polysemanticityOf(rows: Float32Array, n: number, d: number): Polysemanticity {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += rows[i * d + j]! / n;
  let norm = 0;
  for (const v of mean) norm += v * v;
  const spread = 1 - Math.sqrt(norm);
  if (n < 4) return { spread, silhouette: 0, centroidCosine: 1, clusters: 1 };
  const split = clusterRows({ data: rows, n, d }, { k: 2 });
  const halves = [0, 1].map((k) => {
    const members = split.labels.flatMap((l, i) => (l === k ? [i] : []));
    const sub = new Float32Array(members.length * d);
    members.forEach((i, j) => sub.set(rows.subarray(i * d, (i + 1) * d), j * d));
    return { size: members.length, dir: meanDirection(sub, members.length, d) };
  });
  let centroidCosine = 0;
  for (let j = 0; j < d; j++) centroidCosine += halves[0]!.dir[j]! * halves[1]!.dir[j]!;
  const clear = split.silhouette >= POLY_SILHOUETTE && Math.min(halves[0]!.size, halves[1]!.size) >= 2 && centroidCosine < POLY_CENTROID_COSINE;
  return { spread, silhouette: split.silhouette, centroidCosine, clusters: clear ? 2 : 1 };
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

export interface EmbedOptions {
  crp: CrpExplainer;
  source: SampleSource;
  /** What a person (and the foundation model) sees of sample i: an 8-bit picture. */
  picture: (index: number) => RasterImage;
  state: ReferenceState;
  /** The references' provenance (model, dataset, composite, targets). */
  references: ReferenceProvenance;
  foundation: FoundationModel;
  spec: LensSpec;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Embeds every channel of the spec's layers: its top reference samples (one batched CRP run per channel for the
 * crops, targets as the references were built), then one foundation-model run per layer for all crops.
 */
export async function embedComponents(o: EmbedOptions): Promise<LensIndex> {
  validateLensSpec(o.spec, o.state);
  const { crp, source, state, foundation, spec } = o;
  const per = source.sampleShape.reduce((a, b) => a * b, 1);
  const targetCache = new Map<number, number>();
  const useLabels = o.references.spec.targets === 'label' && !!source.label;
  const targetsOf = async (indices: number[]): Promise<number[]> => {
    const missing = [...new Set(indices.filter((i) => !targetCache.has(i)))];
    if (missing.length && useLabels) for (const i of missing) targetCache.set(i, source.label!(i));
    else if (missing.length) {
      const x = new Float32Array(missing.length * per);
      missing.forEach((i, j) => x.set(source.batch(i, 1).data, j * per));
      const s = await crp.base.scores({ data: x, dims: [missing.length, ...source.sampleShape] });
      argmaxRows(s.data, missing.length).forEach((t, j) => targetCache.set(missing[j]!, t));
    }
    return indices.map((i) => targetCache.get(i)!);
  };
  const total = spec.layers.reduce((a, l) => a + state.layers[l]!.channels, 0);
  let done = 0;
  o.onProgress?.(0, total);
  const components: LensComponent[] = [];
  const skipped: LensIndex['skipped'] = [];
  const d = foundation.spec.dim;
  for (const layer of spec.layers) {
    const channels = state.layers[layer]!.channels;
    const pending: { channel: number; samples: LensSample[] }[] = [];
    for (let channel = 0; channel < channels; channel++) {
      if (o.signal?.aborted) throw new XsysError('cancelled');
      const refs = referenceSamples(state, layer, channel, { stat: spec.stat, n: spec.samples });
      if (!refs.some((r) => r.value > 0)) {
        // A dead unit's "top" samples are the first samples of the dataset: embedding them would invent a meaning.
        skipped.push({ layer, channel, reason: 'no reference sample expresses it (all values ≤ 0)' });
        o.onProgress?.(++done, total);
        continue;
      }
      const targets = await targetsOf(refs.map((r) => r.index));
      const crops = await cropReferences(crp, source, refs, targets, layer, channel, { threshold: spec.threshold, composite: o.references.spec.composite });
      pending.push({ channel, samples: crops.map((c) => ({ index: c.index, value: c.value, target: c.target, box: c.box })) });
      o.onProgress?.(++done, total);
    }
    const all = pending.flatMap((p) => p.samples.map((s) => ({ image: o.picture(s.index), box: s.box })));
    const emb = await foundation.embedImages(all);
    let row = 0;
    for (const p of pending) {
      const n = p.samples.length;
      const rows = emb.subarray(row * d, (row + n) * d);
      row += n;
      if (n === 0) continue;
      components.push({
        layer,
        channel: p.channel,
        embedding: Array.from(meanDirection(rows, n, d), round),
        clarity: round(clarityOf(rows, n, d)),
        polysemanticity: mapRound(polysemanticityOf(rows, n, d)),
        samples: p.samples,
        sampleEmbeddings: Array.from({ length: n }, (_, i) => Array.from(rows.subarray(i * d, (i + 1) * d), round)),
      });
    }
  }
  return {
    provenance: {
      format: 'xsys-lens-index',
      version: 1,
      xsys: VERSION,
      model: o.references.model,
      dataset: o.references.dataset,
      references: { composite: o.references.spec.composite, targets: o.references.spec.targets },
      foundation: { name: foundation.spec.name, sha256: foundation.fingerprint, dim: d },
      spec,
      createdAt: new Date().toISOString(),
    },
    components,
    skipped,
  };
}

function mapRound(p: Polysemanticity): Polysemanticity {
  return { spread: round(p.spread), silhouette: round(p.silhouette), centroidCosine: round(p.centroidCosine), clusters: p.clusters };
}

export function componentKey(c: { layer: string; channel: number }): string {
  return `${c.layer}#${c.channel}`;
}

export function findComponent(index: LensIndex, layer: string, channel: number): LensComponent {
  const c = index.components.find((x) => x.layer === layer && x.channel === channel);
  if (!c) throw new InvalidArgumentError('component', `no component ${layer} #${channel} in the lens index (layers: ${[...new Set(index.components.map((x) => x.layer))].join(', ')})`);
  return c;
}

export interface Redundancy {
  /** Groups of components whose embeddings are within the threshold of each other (single linkage), largest first. */
  groups: { layer: string; channel: number }[][];
  /** Per component (in index order): its most similar other component and their cosine. */
  nearest: { layer: string; channel: number; other: { layer: string; channel: number }; cosine: number }[];
}

/** Near-duplicate components: cosine of their embeddings ≥ threshold (within one layer unless `acrossLayers`). */
export function redundancy(index: LensIndex, options: { threshold?: number; acrossLayers?: boolean } = {}): Redundancy {
  const threshold = options.threshold ?? 0.95;
  if (!(threshold > 0 && threshold <= 1)) throw new InvalidArgumentError('threshold', 'must be in (0, 1]');
  const cs = index.components;
  const parent = cs.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const nearest: Redundancy['nearest'] = [];
  for (let i = 0; i < cs.length; i++) {
    let best = -Infinity;
    let bj = -1;
    for (let j = 0; j < cs.length; j++) {
      if (i === j || (!options.acrossLayers && cs[i]!.layer !== cs[j]!.layer)) continue;
      let dot = 0;
      const a = cs[i]!.embedding;
      const b = cs[j]!.embedding;
      for (let k = 0; k < a.length; k++) dot += a[k]! * b[k]!;
      if (dot > best) (best = dot), (bj = j);
      if (dot >= threshold) parent[find(i)] = find(j);
    }
    if (bj >= 0) nearest.push({ layer: cs[i]!.layer, channel: cs[i]!.channel, other: { layer: cs[bj]!.layer, channel: cs[bj]!.channel }, cosine: round(best) });
  }
  const groups = new Map<number, { layer: string; channel: number }[]>();
  cs.forEach((c, i) => {
    const r = find(i);
    groups.set(r, [...(groups.get(r) ?? []), { layer: c.layer, channel: c.channel }]);
  });
  return { groups: [...groups.values()].filter((g) => g.length > 1).sort((a, b) => b.length - a.length), nearest };
}

export async function writeLensIndex(path: string, index: LensIndex): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(index)));
}

export async function readLensIndex(path: string, expect: { modelSha256?: string; foundationSha256?: string } = {}): Promise<LensIndex> {
  let json: LensIndex;
  try {
    json = JSON.parse(await readFile(path, 'utf8')) as LensIndex;
  } catch (e) {
    throw new FileFormatError(path, `cannot read the lens index (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (json?.provenance?.format !== 'xsys-lens-index' || !Array.isArray(json.components)) throw new FileFormatError(path, 'not an xsys lens index', 'make one with `xsys lens embed`');
  if (expect.modelSha256 && json.provenance.model.sha256 !== expect.modelSha256) throw new FileFormatError(path, 'the lens index was built for a different model (hash mismatch)', 'rebuild it: xsys lens embed …');
  if (expect.foundationSha256 && json.provenance.foundation.sha256 !== expect.foundationSha256) throw new FileFormatError(path, `the lens index was embedded with another foundation model ('${json.provenance.foundation.name}')`, 'search with the foundation model the index was built with, or rebuild it');
  return json;
}
