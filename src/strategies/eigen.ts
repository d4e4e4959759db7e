/**
 * The largest eigenpairs of a symmetric operator. Spectral clustering needs only the top few eigenvectors of a
 * sparse n×n matrix; a dense eigendecomposition of 5,000×5,000 would take minutes, so this builds a block Krylov
 * subspace (block, so that eigenvalues of multiplicity > 1 — one per connected component of a graph — are all found),
 * projects the operator onto it and solves the small projected problem with ml-matrix's symmetric EVD (Rayleigh–Ritz),
 * restarting from the Ritz vectors until every wanted residual is below tolerance. Small matrices go dense directly.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { mulberry32, gaussian } from '../seeded-random.js';

export interface EigenResult {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** values.length eigenvectors of length n, unit norm, in the same order. */
  vectors: Float64Array[];
  /** Krylov restarts used (0 for the dense path). */
  restarts: number;
  /** Largest residual ‖Av − λv‖ of the returned pairs. */
  residual: number;
}

export interface EigenOptions {
  tol?: number;
  maxRestarts?: number;
  seed?: number;
  /** Up to this size the matrix is formed densely and decomposed at once (default 150). */
  denseBelow?: number;
  /**
   * A lower bound of the operator's spectrum (−1 for a normalised adjacency matrix). Given, the solver runs
   * Chebyshev-filtered subspace iteration instead of restarted block Krylov: a polynomial of the operator damps
   * [lowerBound, cut] and amplifies what lies above, so a subspace only a few vectors larger than `count` converges
   * in a handful of sweeps, at the cost of sparse products, not of orthogonalising an 80-vector basis each restart.
   */
  lowerBound?: number;
  /** Filter degree of the Chebyshev path (default 16). */
  degree?: number;
}

type Apply = (x: Float64Array, y: Float64Array) => void;

/** Indices of the `count` largest values, largest first. */
function topOrder(values: number[], count: number): number[] {
  return values.map((_, i) => i).sort((a, b) => values[b]! - values[a]!).slice(0, count);
}

/**
 * Orthonormalises row `j` of the flat basis (rows of length n) against rows 0…j−1 by classical Gram–Schmidt, repeated
 * only while a pass cancels most of the vector (Kahan's "twice is enough"). Returns false when nothing independent is
 * left.
 */
function orthonormalizeRow(basis: Float64Array, j: number, n: number, coeffs: Float64Array): boolean {
  const vo = j * n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += basis[vo + i]! ** 2;
  const original = Math.sqrt(sq);
  let before = original;
  for (let pass = 0; pass < 3 && j > 0; pass++) {
    for (let r = 0; r < j; r++) {
      const ro = r * n;
      let s = 0;
      for (let i = 0; i < n; i++) s += basis[ro + i]! * basis[vo + i]!;
      coeffs[r] = s;
    }
    for (let r = 0; r < j; r++) {
      const c = coeffs[r]!;
      const ro = r * n;
      for (let i = 0; i < n; i++) basis[vo + i]! -= c * basis[ro + i]!;
    }
    sq = 0;
    for (let i = 0; i < n; i++) sq += basis[vo + i]! ** 2;
    const after = Math.sqrt(sq);
    if (after > 0.7 * before) break;
    before = after;
  }
  const nrm = Math.sqrt(sq);
  if (!(nrm > 1e-10 * Math.max(original, 1e-300))) return false;
  for (let i = 0; i < n; i++) basis[vo + i]! /= nrm;
  return true;
}

/** The `count` largest eigenpairs of the symmetric n×n operator `apply`. */
export function topEigenpairs(apply: Apply, n: number, count: number, options: EigenOptions = {}): EigenResult {
  const tol = options.tol ?? 1e-6;
  count = Math.min(count, n);
  if (n <= (options.denseBelow ?? 150)) return dense(apply, n, count);
  if (options.lowerBound !== undefined) return chebyshev(apply, n, count, options.lowerBound, tol, options);
  const rand = mulberry32(options.seed ?? 0);
  const block = Math.min(n, count + 2);
  // A basis of ~80 vectors: larger ones converge in fewer restarts but each costs O(m²·n), and 80–100 was fastest on
  // 5,000-node kNN graphs of MNIST-like data.
  const maxBasis = Math.min(n, Math.max(3 * count + 40, block * 6));
  const basis = new Float64Array(maxBasis * n);
  const images = new Float64Array(maxBasis * n);
  const coeffs = new Float64Array(maxBasis);
  let start: Float64Array[] = Array.from({ length: block }, () => Float64Array.from({ length: n }, () => gaussian(rand)));
  let last: EigenResult | undefined;
  const maxRestarts = options.maxRestarts ?? 30;
  for (let restart = 0; restart <= maxRestarts; restart++) {
    // Row j of `images` is A·(row j of `basis`); each new block is the previous block's images, orthonormalised.
    let m = 0;
    for (const s of start) {
      basis.set(s, m * n);
      if (orthonormalizeRow(basis, m, n, coeffs)) m++;
    }
    let blockStart = 0;
    let blockEnd = m;
    let imaged = 0;
    while (blockEnd > blockStart) {
      for (let j = blockStart; j < blockEnd; j++) {
        apply(basis.subarray(j * n, (j + 1) * n), images.subarray(j * n, (j + 1) * n));
        imaged = j + 1;
      }
      const next = m;
      for (let j = blockStart; j < blockEnd && m < maxBasis; j++) {
        basis.set(images.subarray(j * n, (j + 1) * n), m * n);
        if (orthonormalizeRow(basis, m, n, coeffs)) m++;
      }
      blockStart = next;
      blockEnd = m;
      if (m >= maxBasis) break;
    }
    for (let j = imaged; j < m; j++) apply(basis.subarray(j * n, (j + 1) * n), images.subarray(j * n, (j + 1) * n));
    const t = new Matrix(m, m);
    for (let a = 0; a < m; a++) {
      const ao = a * n;
      for (let b = a; b < m; b++) {
        const bo = b * n;
        let s = 0;
        for (let i = 0; i < n; i++) s += basis[ao + i]! * images[bo + i]!;
        t.set(a, b, s);
        t.set(b, a, s);
      }
    }
    const evd = new EigenvalueDecomposition(t, { assumeSymmetric: true });
    const order = topOrder(evd.realEigenvalues, Math.min(m, block));
    const y = evd.eigenvectorMatrix;
    const values = new Float64Array(order.length);
    const vectors: Float64Array[] = [];
    let residual = 0;
    order.forEach((col, r) => {
      const theta = evd.realEigenvalues[col]!;
      values[r] = theta;
      const v = new Float64Array(n);
      const av = new Float64Array(n);
      for (let j = 0; j < m; j++) {
        const c = y.get(j, col);
        if (c === 0) continue;
        const jo = j * n;
        for (let i = 0; i < n; i++) {
          v[i]! += c * basis[jo + i]!;
          av[i]! += c * images[jo + i]!;
        }
      }
      vectors.push(v);
      if (r < count) {
        let rr = 0;
        for (let i = 0; i < n; i++) rr += (av[i]! - theta * v[i]!) ** 2;
        residual = Math.max(residual, Math.sqrt(rr));
      }
    });
    last = { values: values.slice(0, count), vectors: vectors.slice(0, count), restarts: restart, residual };
    if (residual <= tol || m === n) break;
    start = vectors;
  }
  return last!;
}

/**
 * Rayleigh–Ritz on the orthonormal rows of `x` (p × n, `ax` receives A·x): replaces x by the Ritz vectors, largest
 * value first, and returns the values with the largest residual of the first `count`.
 */
function rayleighRitz(apply: Apply, x: Float64Array, ax: Float64Array, p: number, n: number, count: number): { values: Float64Array; residual: number } {
  for (let j = 0; j < p; j++) apply(x.subarray(j * n, (j + 1) * n), ax.subarray(j * n, (j + 1) * n));
  const t = new Matrix(p, p);
  for (let a = 0; a < p; a++) {
    for (let b = a; b < p; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += x[a * n + i]! * ax[b * n + i]!;
      t.set(a, b, s);
      t.set(b, a, s);
    }
  }
  const evd = new EigenvalueDecomposition(t, { assumeSymmetric: true });
  const order = topOrder(evd.realEigenvalues, p);
  const y = evd.eigenvectorMatrix;
  const nx = new Float64Array(p * n);
  const nax = new Float64Array(p * n);
  const values = new Float64Array(p);
  let residual = 0;
  order.forEach((col, r) => {
    const theta = evd.realEigenvalues[col]!;
    values[r] = theta;
    const ro = r * n;
    for (let j = 0; j < p; j++) {
      const c = y.get(j, col);
      if (c === 0) continue;
      const jo = j * n;
      for (let i = 0; i < n; i++) {
        nx[ro + i]! += c * x[jo + i]!;
        nax[ro + i]! += c * ax[jo + i]!;
      }
    }
    if (r < count) {
      let rr = 0;
      for (let i = 0; i < n; i++) rr += (nax[ro + i]! - theta * nx[ro + i]!) ** 2;
      residual = Math.max(residual, Math.sqrt(rr));
    }
  });
  x.set(nx);
  ax.set(nax);
  return { values, residual };
}

/**
 * Chebyshev-filtered subspace iteration (Zhou & Saad 2007) for the largest eigenpairs of an operator whose spectrum
 * lies in [lo, λ_max]. Each sweep applies T_d of the map taking [lo, cut] to [−1, 1] — bounded by 1 there and growing
 * fast above `cut`, the smallest Ritz value of the subspace — then orthonormalises and does Rayleigh–Ritz. A few
 * guard vectors beyond `count` keep the gap between the wanted values and the damped interval from closing.
 */
function chebyshev(apply: Apply, n: number, count: number, lo: number, tol: number, options: EigenOptions): EigenResult {
  const rand = mulberry32(options.seed ?? 0);
  const p = Math.min(n, count + Math.max(5, Math.ceil(count / 2)));
  const degree = options.degree ?? 16;
  const x = new Float64Array(p * n);
  const ax = new Float64Array(p * n);
  const coeffs = new Float64Array(p);
  for (let i = 0; i < p * n; i++) x[i] = gaussian(rand);
  const orthonormalize = () => {
    let m = 0;
    for (let j = 0; j < p; j++) {
      if (m !== j) x.copyWithin(m * n, j * n, (j + 1) * n);
      if (orthonormalizeRow(x, m, n, coeffs)) m++;
    }
    // A filtered block that lost rank (an exactly invariant subspace smaller than p) is refilled at random.
    for (; m < p; m++) {
      for (let i = 0; i < n; i++) x[m * n + i] = gaussian(rand);
      orthonormalizeRow(x, m, n, coeffs);
    }
  };
  orthonormalize();
  let rr = rayleighRitz(apply, x, ax, p, n, count);
  const maxSweeps = options.maxRestarts ?? 60;
  let sweep = 0;
  const y0 = new Float64Array(n);
  const y1 = new Float64Array(n);
  const y2 = new Float64Array(n);
  for (; sweep < maxSweeps && rr.residual > tol; sweep++) {
    const cut = rr.values[p - 1]!;
    if (!(cut > lo)) break;
    const e = (cut - lo) / 2;
    const c = (cut + lo) / 2;
    for (let j = 0; j < p; j++) {
      const xj = x.subarray(j * n, (j + 1) * n);
      // Y0 = x (its image is already in ax), Y1 = (A − c)x / e, Y_{k+1} = 2(A − c)Y_k / e − Y_{k−1}.
      y0.set(xj);
      const axj = ax.subarray(j * n, (j + 1) * n);
      for (let i = 0; i < n; i++) y1[i] = (axj[i]! - c * y0[i]!) / e;
      for (let k = 2; k <= degree; k++) {
        apply(y1, y2);
        for (let i = 0; i < n; i++) y2[i] = (2 * (y2[i]! - c * y1[i]!)) / e - y0[i]!;
        y0.set(y1);
        y1.set(y2);
      }
      // Rescale: the growth factor is irrelevant (the block is orthonormalised next), overflow is not.
      let m = 0;
      for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(y1[i]!));
      for (let i = 0; i < n; i++) xj[i] = m > 0 ? y1[i]! / m : 0;
    }
    orthonormalize();
    rr = rayleighRitz(apply, x, ax, p, n, count);
  }
  const vectors = Array.from({ length: count }, (_, j) => x.slice(j * n, (j + 1) * n));
  return { values: rr.values.slice(0, count), vectors, restarts: sweep, residual: rr.residual };
}

function dense(apply: Apply, n: number, count: number): EigenResult {
  const a = new Matrix(n, n);
  const e = new Float64Array(n);
  const col = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    e.fill(0);
    e[j] = 1;
    apply(e, col);
    for (let i = 0; i < n; i++) a.set(i, j, col[i]!);
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
    const s = (a.get(i, j) + a.get(j, i)) / 2;
    a.set(i, j, s);
    a.set(j, i, s);
  }
  const evd = new EigenvalueDecomposition(a, { assumeSymmetric: true });
  const order = topOrder(evd.realEigenvalues, count);
  const values = Float64Array.from(order.map((c) => evd.realEigenvalues[c]!));
  const vectors = order.map((c) => Float64Array.from({ length: n }, (_, i) => evd.eigenvectorMatrix.get(i, c)));
  return { values, vectors, restarts: 0, residual: 0 };
}
