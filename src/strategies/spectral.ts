/**
 * Spectral clustering as SpRAy uses it (Lapuschkin et al. 2019): a symmetric kNN affinity graph, the eigenvectors of
 * its normalised Laplacian L = I − D^{-1/2} W D^{-1/2} for the smallest eigenvalues, the eigengap heuristic to suggest
 * the number of clusters, and k-means on the spectral embedding. Like scikit-learn's SpectralClustering, the embedding
 * rows are the eigenvectors divided by √degree (the random-walk Laplacian's eigenvectors), so cluster assignments can
 * be compared with it directly.
 */
import { InvalidArgumentError } from '../errors.js';
import { topEigenpairs } from './eigen.js';
import { kmeans } from './kmeans.js';
import { csrMul, knn, knnAffinity, type Knn } from './knn.js';
import type { Points } from './points.js';

export interface SpectralOptions {
  /** Neighbours per point in the affinity graph, self excluded (default 10). */
  neighbors?: number;
  /** Number of clusters; default: the eigengap's suggestion. */
  clusters?: number;
  /** Largest number of clusters the eigengap analysis considers (default 10). */
  maxClusters?: number;
  seed?: number;
  /** k-means restarts on the embedding (default 10). */
  restarts?: number;
}

export interface SpectralResult {
  labels: Int32Array;
  clusters: number;
  /** The eigengap's suggestion: the k in 2…maxClusters after which the Laplacian's eigenvalues jump most. */
  suggestedClusters: number;
  /** The smallest maxClusters+1 eigenvalues of the normalised Laplacian, ascending. */
  eigenvalues: number[];
  /** eigengaps[k−1] = λ_{k+1} − λ_k. */
  eigengaps: number[];
  /** n × clusters spectral embedding the k-means ran on. */
  embedding: Float64Array;
  /** The kNN graph (reused for the 2-D embedding). */
  knn: Knn;
}

export function spectralClustering(p: Points, options: SpectralOptions = {}): SpectralResult {
  const { n } = p;
  if (n < 3) throw new InvalidArgumentError('points', `spectral clustering needs at least 3 points, got ${n}`);
  const neighbors = options.neighbors ?? Math.min(10, n - 1);
  const maxClusters = Math.min(options.maxClusters ?? 10, n - 1);
  if (!Number.isInteger(maxClusters) || maxClusters < 2) throw new InvalidArgumentError('maxClusters', `must be ≥ 2 (and below the number of points, ${n}), got ${options.maxClusters}`);
  if (options.clusters !== undefined && (!Number.isInteger(options.clusters) || options.clusters < 1 || options.clusters >= n)) {
    throw new InvalidArgumentError('clusters', `must be 1–${n - 1}, got ${options.clusters}`);
  }
  const graph = knn(p, neighbors);
  const w = knnAffinity(graph, n);
  const dinv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let deg = 0;
    for (let q = w.rowPtr[i]!; q < w.rowPtr[i + 1]!; q++) deg += w.values[q]!;
    dinv[i] = 1 / Math.sqrt(deg);
  }
  const tmp = new Float64Array(n);
  // The largest eigenvalues μ of D^{-1/2} W D^{-1/2} are 1 − (the smallest of L).
  const apply = (x: Float64Array, y: Float64Array) => {
    for (let i = 0; i < n; i++) tmp[i] = x[i]! * dinv[i]!;
    csrMul(w, tmp, y);
    for (let i = 0; i < n; i++) y[i]! *= dinv[i]!;
  };
  const wanted = Math.max(maxClusters, options.clusters ?? 0) + 1;
  // Residuals of 1e-4 leave the eigenvalues accurate to ~1e-8 (Ritz values err by about the residual squared over the
  // gap) — ample for the eigengap — and the embedding far closer than k-means on it can tell apart.
  // D^{-1/2} W D^{-1/2} of a non-negative W has its spectrum in [−1, 1]: the Chebyshev path applies.
  const eig = topEigenpairs(apply, n, Math.min(n, wanted), { seed: options.seed, tol: 1e-4, lowerBound: -1 });
  const eigenvalues = Array.from(eig.values, (mu) => Math.max(0, 1 - mu));
  const eigengaps = eigenvalues.slice(1).map((v, i) => v - eigenvalues[i]!);
  let suggested = 2;
  for (let k = 2; k <= Math.min(maxClusters, eigengaps.length); k++) if (eigengaps[k - 1]! > eigengaps[suggested - 1]!) suggested = k;
  const k = options.clusters ?? suggested;
  const embedding = new Float64Array(n * k);
  for (let c = 0; c < k; c++) {
    const v = eig.vectors[c]!;
    for (let i = 0; i < n; i++) embedding[i * k + c] = v[i]! * dinv[i]!;
  }
  const km = kmeans({ data: embedding, n, d: k }, k, { seed: options.seed, restarts: options.restarts ?? 10 });
  return { labels: km.labels, clusters: k, suggestedClusters: suggested, eigenvalues, eigengaps, embedding, knn: graph };
}
