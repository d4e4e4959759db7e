/**
 * The 2-D map of a SpRAy analysis: UMAP (umap-js, the PAIR-code port of McInnes et al.'s reference algorithm) laid
 * out from the exact kNN graph the spectral clustering already built, so the neighbour search is done once and the
 * picture shows the same neighbourhoods the clusters were cut from. Seeded, so the same input gives the same map.
 */
import { UMAP } from 'umap-js';
import { mulberry32 } from '../seeded-random.js';
import type { Knn } from './knn.js';
import type { Points } from './points.js';

export interface EmbedOptions {
  /** Optimisation epochs (default 200, 50 above 2,000 points: each epoch visits every edge, and the layout is only for the picture). */
  epochs?: number;
  minDist?: number;
  seed?: number;
}

/** n·2 coordinates, each axis scaled to [0, 1]. */
export function embed2d(p: Points, graph: Knn, options: EmbedOptions = {}): Float64Array {
  const { n, d } = p;
  const out = new Float64Array(n * 2);
  if (n < 3) return out;
  const k = graph.k;
  // UMAP's own convention: each point's neighbour list starts with the point itself at distance 0.
  const indices: number[][] = [];
  const distances: number[][] = [];
  for (let i = 0; i < n; i++) {
    indices.push([i, ...Array.from(graph.indices.subarray(i * k, (i + 1) * k))]);
    distances.push([0, ...Array.from(graph.distances.subarray(i * k, (i + 1) * k))]);
  }
  const umap = new UMAP({ nComponents: 2, nNeighbors: k + 1, nEpochs: options.epochs ?? (n > 2000 ? 50 : 200), minDist: options.minDist ?? 0.1, random: mulberry32(options.seed ?? 0) });
  umap.setPrecomputedKNN(indices, distances);
  // umap-js builds a second sparse graph in initializeFit that only its `transform` (placing new points) uses; we
  // never call transform, and building it costs ~10 % of the SpRAy run, so this instance skips it.
  (umap as unknown as { makeSearchGraph: () => undefined }).makeSearchGraph = () => undefined;
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(p.data.subarray(i * d, (i + 1) * d)));
  const epochs = umap.initializeFit(rows);
  for (let e = 0; e < epochs; e++) umap.step();
  const emb = umap.getEmbedding();
  for (let a = 0; a < 2; a++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, emb[i]![a]!);
      hi = Math.max(hi, emb[i]![a]!);
    }
    for (let i = 0; i < n; i++) out[i * 2 + a] = hi > lo ? (emb[i]![a]! - lo) / (hi - lo) : 0.5;
  }
  return out;
}
