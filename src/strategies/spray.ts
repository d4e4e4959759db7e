/**
 * SpRAy — Spectral Relevance Analysis (Lapuschkin et al. 2019, "Unmasking Clever Hans predictors"): the heatmaps of
 * a class (from any attribution method) are downsampled and normalised, clustered spectrally on a kNN graph with the
 * eigengap suggesting how many distinct strategies there are, and laid out in 2-D. Each cluster is summarised by its
 * mean heatmap and its members, nearest to the cluster's mean first — a small separate cluster whose mean heatmap
 * lights up something other than the object is the Clever-Hans signature.
 */
import { InvalidArgumentError } from '../errors.js';
import { embed2d } from './embed.js';
import { spectralClustering } from './spectral.js';
import type { Points } from './points.js';

export interface Heatmaps {
  /** n·h·w values (channels already summed). */
  data: Float32Array | Float64Array;
  n: number;
  h: number;
  w: number;
}

export interface SprayOptions {
  /** Pooling factor of the downsampling (default: the smallest that brings both sides to ≤ 12, e.g. 3 for 28×28). */
  pool?: number;
  neighbors?: number;
  clusters?: number;
  maxClusters?: number;
  /** Skip the 2-D embedding (it is only for the picture). */
  embedding?: boolean;
  epochs?: number;
  seed?: number;
}

export interface SprayCluster {
  label: number;
  size: number;
  /** Members, nearest to the cluster's mean (in the clustered feature space) first. */
  members: number[];
  /** Mean of the members' normalised heatmaps at full resolution (h·w). */
  meanHeatmap: Float64Array;
}

export interface SprayResult {
  labels: Int32Array;
  clusters: SprayCluster[];
  suggestedClusters: number;
  eigenvalues: number[];
  eigengaps: number[];
  /** n·2 in [0,1], absent when not asked for. */
  embedding?: Float64Array;
  /** Features per heatmap after downsampling. */
  features: number;
  pool: number;
  h: number;
  w: number;
}

/** Divides each heatmap by its largest |value| so strategies, not confidence, decide the clusters. */
export function normalizeHeatmaps(hm: Heatmaps): Float64Array {
  const per = hm.h * hm.w;
  const out = new Float64Array(hm.n * per);
  for (let i = 0; i < hm.n; i++) {
    let m = 0;
    for (let j = 0; j < per; j++) {
      const v = hm.data[i * per + j]!;
      if (!Number.isFinite(v)) throw new InvalidArgumentError('heatmaps', `heatmap ${i} has a non-finite value at ${j}`);
      m = Math.max(m, Math.abs(v));
    }
    const s = m > 0 ? 1 / m : 0;
    for (let j = 0; j < per; j++) out[i * per + j] = hm.data[i * per + j]! * s;
  }
  return out;
}

/** Sum-pools each normalised heatmap by `pool`×`pool` (edges padded with zeros). */
export function downsample(norm: Float64Array, n: number, h: number, w: number, pool: number): Points {
  const oh = Math.ceil(h / pool);
  const ow = Math.ceil(w / pool);
  const d = oh * ow;
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < h; y++) {
      const oy = Math.floor(y / pool);
      for (let x = 0; x < w; x++) data[i * d + oy * ow + Math.floor(x / pool)]! += norm[i * h * w + y * w + x]!;
    }
  }
  return { data, n, d };
}

export function spray(hm: Heatmaps, options: SprayOptions = {}): SprayResult {
  const { n, h, w } = hm;
  if (!Number.isInteger(n) || n < 3) throw new InvalidArgumentError('heatmaps', `SpRAy needs at least 3 heatmaps, got ${n}`);
  if (hm.data.length !== n * h * w) throw new InvalidArgumentError('heatmaps', `${hm.data.length} values do not make ${n} heatmaps of ${h}×${w}`);
  const pool = options.pool ?? Math.max(1, Math.ceil(Math.max(h, w) / 12));
  if (!Number.isInteger(pool) || pool < 1 || pool > Math.max(h, w)) throw new InvalidArgumentError('pool', `must be 1–${Math.max(h, w)}, got ${options.pool}`);
  const norm = normalizeHeatmaps(hm);
  const feats = downsample(norm, n, h, w, pool);
  const sc = spectralClustering(feats, { neighbors: options.neighbors ?? Math.min(10, n - 1), clusters: options.clusters, maxClusters: options.maxClusters ?? Math.min(10, n - 1), seed: options.seed });
  const clusters: SprayCluster[] = [];
  const per = h * w;
  const d = feats.d;
  for (let c = 0; c < sc.clusters; c++) {
    const members: number[] = [];
    for (let i = 0; i < n; i++) if (sc.labels[i] === c) members.push(i);
    const meanHeatmap = new Float64Array(per);
    const centre = new Float64Array(d);
    for (const i of members) {
      for (let j = 0; j < per; j++) meanHeatmap[j]! += norm[i * per + j]! / members.length;
      for (let j = 0; j < d; j++) centre[j]! += feats.data[i * d + j]! / members.length;
    }
    const dist = new Map<number, number>();
    for (const i of members) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (feats.data[i * d + j]! - centre[j]!) ** 2;
      dist.set(i, s);
    }
    members.sort((a, b) => dist.get(a)! - dist.get(b)! || a - b);
    clusters.push({ label: c, size: members.length, members, meanHeatmap });
  }
  const embedding = options.embedding === false ? undefined : embed2d(feats, sc.knn, { epochs: options.epochs, seed: options.seed });
  return { labels: sc.labels, clusters, suggestedClusters: sc.suggestedClusters, eigenvalues: sc.eigenvalues, eigengaps: sc.eigengaps, embedding, features: d, pool, h, w };
}
