/**
 * PURE (Dreyer et al. 2024): a polysemantic component is split into "pure" virtual components by clustering its
 * *circuits* — the relevance its top reference samples send into the channels of a lower layer (CRP conditioned on
 * the component, src/concepts/relevance.ts subConcepts). Samples that activate the component through different
 * lower-layer features fall into different clusters (k given, or chosen by silhouette). Each cluster is a virtual
 * component with its own reference samples and foundation-model embedding; PURE's evaluation asks whether the split
 * makes the components clearer (mean clarity of the clusters against the clarity of the whole).
 */
import { InvalidArgumentError } from '../errors.js';
import type { CrpExplainer } from '../concepts/crp.js';
import { subConcepts } from '../concepts/relevance.js';
import { cropReferences, referenceSamples, type Box, type ReferenceStat } from '../concepts/atlas.js';
import type { ReferenceState, SampleSource } from '../concepts/references.js';
import type { RasterImage } from '../render/heatmap.js';
import { argmaxRows } from '../runtime/tensor.js';
import type { FoundationModel } from './foundation.js';
import { clusterRows } from './cluster.js';
import { clarityOf, meanDirection, MAX_LENS_SAMPLES } from './embed.js';

export interface PureOptions {
  crp: CrpExplainer;
  source: SampleSource;
  picture: (index: number) => RasterImage;
  foundation: FoundationModel;
  state: ReferenceState;
  layer: string;
  channel: number;
  /** The layer below whose channels make the circuits. */
  lower: string;
  /** Reference samples clustered (default 16). */
  samples?: number;
  stat?: ReferenceStat;
  /** Clusters: given, or chosen among 2…kMax by silhouette. */
  k?: number;
  kMax?: number;
  composite?: string;
  threshold?: number;
  /** Targets the crops and circuits explain: the samples' labels, or their predictions (default). */
  targets?: 'prediction' | 'label';
}

export interface PureSample {
  index: number;
  value: number;
  target: number;
  box: Box;
  /** Cluster of the sample. */
  cluster: number;
}

export interface VirtualComponent {
  cluster: number;
  size: number;
  /** Indices into `samples` of the members, best reference value first. */
  members: number[];
  embedding: number[];
  clarity: number;
  /** The lower channels carrying most of the members' circuits (mean relevance share), top 5. */
  circuit: { channel: number; share: number }[];
}

export interface PureResult {
  layer: string;
  channel: number;
  lower: string;
  k: number;
  silhouette: number;
  tried: { k: number; silhouette: number }[];
  samples: PureSample[];
  /** Clarity of all samples together (the component as it is). */
  clarity: number;
  clusters: VirtualComponent[];
  /** Size-weighted mean clarity of the clusters. */
  splitClarity: number;
  /** PURE's evaluation: the split is clearer than the whole. */
  clearer: boolean;
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

export async function pure(o: PureOptions): Promise<PureResult> {
  const n = o.samples ?? 16;
  if (!Number.isInteger(n) || n < 4 || n > MAX_LENS_SAMPLES) throw new InvalidArgumentError('samples', `must be an integer in 4…${MAX_LENS_SAMPLES}`);
  if (!o.state.layers[o.lower]) throw new InvalidArgumentError('lower', `no reference samples for '${o.lower}' (built for: ${Object.keys(o.state.layers).join(', ')})`);
  const refs = referenceSamples(o.state, o.layer, o.channel, { stat: o.stat ?? 'relevance', n }).filter((r) => r.value > 0);
  if (refs.length < 4) throw new InvalidArgumentError('channel', `${o.layer} #${o.channel} has ${refs.length} reference samples that express it; PURE needs at least 4`);
  const per = o.source.sampleShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(refs.length * per);
  refs.forEach((r, i) => x.set(o.source.batch(r.index, 1).data, i * per));
  const targets = o.targets === 'label' && o.source.label ? refs.map((r) => o.source.label!(r.index)) : argmaxRows((await o.crp.base.scores({ data: x, dims: [refs.length, ...o.source.sampleShape] })).data, refs.length);
  // Circuits: one CRP run per sample (each has its own target), the component's relevance into every lower channel.
  let d = 0;
  const circuits: Float32Array[] = [];
  for (let i = 0; i < refs.length; i++) {
    const [s] = await subConcepts(o.crp, { data: x.subarray(i * per, (i + 1) * per), dims: [1, ...o.source.sampleShape] }, o.layer, [o.channel], o.lower, { target: targets[i]!, composite: o.composite });
    circuits.push(s!.vector);
    d = s!.vector.length;
  }
  const rows = new Float64Array(refs.length * d);
  circuits.forEach((c, i) => rows.set(c, i * d));
  const split = clusterRows({ data: rows, n: refs.length, d }, { k: o.k, kMax: o.kMax });
  const crops = await cropReferences(o.crp, o.source, refs, targets, o.layer, o.channel, { threshold: o.threshold ?? 0.1, composite: o.composite });
  const dim = o.foundation.spec.dim;
  const emb = await o.foundation.embedImages(crops.map((c) => ({ image: o.picture(c.index), box: c.box })));
  const clusters: VirtualComponent[] = [];
  for (let k = 0; k < split.k; k++) {
    const members = split.labels.flatMap((l, i) => (l === k ? [i] : []));
    if (members.length === 0) continue;
    const sub = new Float32Array(members.length * dim);
    members.forEach((i, j) => sub.set(emb.subarray(i * dim, (i + 1) * dim), j * dim));
    const share = new Float64Array(d);
    for (const i of members) {
      let abs = 0;
      for (let j = 0; j < d; j++) abs += Math.abs(rows[i * d + j]!);
      for (let j = 0; j < d; j++) share[j]! += abs > 0 ? rows[i * d + j]! / abs / members.length : 0;
    }
    const circuit = Array.from(share, (s, channel) => ({ channel, share: round(s) })).sort((a, b) => b.share - a.share || a.channel - b.channel).slice(0, 5);
    clusters.push({ cluster: k, size: members.length, members, embedding: Array.from(meanDirection(sub, members.length, dim), round), clarity: round(clarityOf(sub, members.length, dim)), circuit });
  }
  const clarity = clarityOf(emb, refs.length, dim);
  const splitClarity = clusters.reduce((a, c) => a + c.clarity * c.size, 0) / refs.length;
  return {
    layer: o.layer,
    channel: o.channel,
    lower: o.lower,
    k: split.k,
    silhouette: round(split.silhouette),
    tried: split.tried.map((t) => ({ k: t.k, silhouette: round(t.silhouette) })),
    samples: crops.map((c, i) => ({ index: c.index, value: c.value, target: c.target, box: c.box, cluster: split.labels[i]! })),
    clarity: round(clarity),
    clusters,
    splitClarity: round(splitClarity),
    clearer: splitClarity > clarity,
  };
}
