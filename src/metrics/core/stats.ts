/** Statistics in float64 shared by the metrics. Functions return NaN where a quantity is undefined. */

export function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return a.length ? s / a.length : Number.NaN;
}

/** Pearson correlation; NaN when either vector is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const u = a[i]! - ma;
    const v = b[i]! - mb;
    sab += u * v;
    saa += u * u;
    sbb += v * v;
  }
  if (saa === 0 || sbb === 0) return Number.NaN;
  return sab / Math.sqrt(saa * sbb);
}

/** Ranks 1..n with ties given their average rank (scipy's rankdata 'average'). */
export function ranks(a: ArrayLike<number>): Float64Array {
  const n = a.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i]! - a[j]!);
  const r = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && a[idx[j + 1]!] === a[idx[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]!] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman rank correlation (Pearson of average ranks); NaN when either vector is constant. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}

/** Kendall's tau-b. */
export function kendallTau(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let conc = 0;
  let disc = 0;
  let tieA = 0;
  let tieB = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const da = Math.sign(a[i]! - a[j]!);
      const db = Math.sign(b[i]! - b[j]!);
      if (da === 0 && db === 0) continue;
      if (da === 0) tieA++;
      else if (db === 0) tieB++;
      else if (da === db) conc++;
      else disc++;
    }
  }
  const den = Math.sqrt((conc + disc + tieA) * (conc + disc + tieB));
  return den === 0 ? Number.NaN : (conc - disc) / den;
}

/** Area under a curve sampled at unit spacing (numpy's trapz with dx = 1). */
export function trapezoid(y: ArrayLike<number>, dx = 1): number {
  let s = 0;
  for (let i = 1; i < y.length; i++) s += (y[i - 1]! + y[i]!) / 2;
  return s * dx;
}

/**
 * ROC-AUC of `scores` against binary `labels`, ties counted half (equal to sklearn's roc_curve + auc).
 * NaN when only one class is present.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const r = ranks(scores);
  let pos = 0;
  let sumPos = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]) {
      pos++;
      sumPos += r[i]!;
    }
  }
  const neg = labels.length - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (sumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function norm2(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

/** Indices sorted by value descending; ties keep index order (a stable sort). */
export function argsortDesc(a: ArrayLike<number>): Int32Array {
  return radixArgsort(a, true);
}

/** Indices sorted by value ascending; ties keep index order. */
export function argsortAsc(a: ArrayLike<number>): Int32Array {
  return radixArgsort(a, false);
}

/**
 * Stable LSD radix sort of indices by the float64 bit patterns of the values, mapped so that unsigned byte order
 * equals numeric order. A comparator sort called a JS function per comparison and dominated the JS side of the
 * perturbation metrics (the ORT share of pixel-flipping stayed below 80 %); eight counting passes are linear.
 * Stability gives ties in index order, as the comparator did; −0 is read as +0 (they compare equal). NaN sorts
 * above +∞ — callers validate attributions for NaN before they sort.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function radixArgsort(a: ArrayLike<number>, descending: boolean): Int32Array {
  const n = a.length;
  if (!LITTLE_ENDIAN) {
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    return idx.sort((i, j) => (descending ? a[j]! - a[i]! : a[i]! - a[j]!) || i - j);
  }
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = descending ? -a[i]! : a[i]!;
    keys[i] = v === 0 ? 0 : v;
  }
  const words = new Uint32Array(keys.buffer);
  // Little-endian: word 2i is the low half, 2i+1 the high half holding the sign.
  for (let i = 0; i < n; i++) {
    const hi = words[2 * i + 1]!;
    if (hi & 0x80000000) {
      words[2 * i + 1] = ~hi >>> 0;
      words[2 * i] = ~words[2 * i]! >>> 0;
    } else {
      words[2 * i + 1] = (hi | 0x80000000) >>> 0;
    }
  }
  const bytes = new Uint8Array(keys.buffer);
  let idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  let tmp = new Int32Array(n);
  const counts = new Int32Array(256);
  for (let pass = 0; pass < 8; pass++) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[bytes[8 * i + pass]!]!++;
    // A byte that is equal in every key leaves the order unchanged: skip the pass.
    if (counts[bytes[pass]!] === n) continue;
    let sum = 0;
    for (let b = 0; b < 256; b++) {
      const c = counts[b]!;
      counts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const j = idx[i]!;
      tmp[counts[bytes[8 * j + pass]!]!++] = j;
    }
    const t = idx;
    idx = tmp;
    tmp = t;
  }
  return idx;
}

/** Uniform 1-D filter of width w with scipy's 'reflect' boundary (d c b a | a b c d | d c b a). */
function uniformFilter1d(x: Float64Array, w: number): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  const half = Math.floor(w / 2);
  const at = (i: number): number => {
    // scipy 'reflect' (half-sample symmetric), repeated for indices far outside.
    const period = 2 * n;
    let k = ((i % period) + period) % period;
    if (k >= n) k = period - 1 - k;
    return x[k]!;
  };
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = i - half; k < i - half + w; k++) s += at(k);
    out[i] = s / w;
  }
  return out;
}

/**
 * Structural similarity of two flattened explanations as Quantus computes it (skimage's structural_similarity on
 * 1-D arrays: window 7, sample covariance, data range = max − min over both, mean over the uncropped interior).
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, win = 7): number {
  const n = a.length;
  if (n < win) return Number.NaN;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, a[i]!, b[i]!);
    hi = Math.max(hi, a[i]!, b[i]!);
  }
  const R = hi - lo;
  const X = Float64Array.from(a);
  const Y = Float64Array.from(b);
  const XX = X.map((v) => v * v);
  const YY = Y.map((v) => v * v);
  const XY = X.map((v, i) => v * Y[i]!);
  const ux = uniformFilter1d(X, win);
  const uy = uniformFilter1d(Y, win);
  const uxx = uniformFilter1d(XX, win);
  const uyy = uniformFilter1d(YY, win);
  const uxy = uniformFilter1d(XY, win);
  const covNorm = win / (win - 1);
  const C1 = (0.01 * R) ** 2;
  const C2 = (0.03 * R) ** 2;
  const pad = (win - 1) / 2;
  let s = 0;
  let count = 0;
  for (let i = pad; i < n - pad; i++) {
    const vx = covNorm * (uxx[i]! - ux[i]! * ux[i]!);
    const vy = covNorm * (uyy[i]! - uy[i]! * uy[i]!);
    const vxy = covNorm * (uxy[i]! - ux[i]! * uy[i]!);
    const num = (2 * ux[i]! * uy[i]! + C1) * (2 * vxy + C2);
    const den = (ux[i]! * ux[i]! + uy[i]! * uy[i]! + C1) * (vx + vy + C2);
    s += num / den;
    count++;
  }
  return s / count;
}
