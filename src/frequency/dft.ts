/**
 * The real DFT and STFT as matrices, for DFT-LRP's virtual inspection layers. A real signal x of even length N is
 * represented by its one-sided spectrum as real numbers, f = [Re X_0 … Re X_{N/2}, Im X_0 … Im X_{N/2}] (N + 2 values,
 * X_k = Σ_n x_n e^{−2πikn/N}); `dftSynthesis` is the matrix M with x = M f (the inverse DFT written for real signals).
 *
 * STFT: periodic Hann windows of length W with hop W/2, frames starting at −W/2, 0, W/2, …, N − W/2 (the signal is
 * zero outside). Each frame's windowed segment is represented as above (W + 2 values); because the shifted windows
 * sum to one, overlap-adding the frames' inverse DFTs gives x back exactly — `stftSynthesis` is that matrix.
 */
import { InvalidArgumentError } from '../errors.js';

function checkEven(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 2 || n % 2 !== 0) throw new InvalidArgumentError(what, `must be an even integer ≥ 2, got ${n}`);
}

/** Coefficients per signal: F = N + 2. */
export function dftSize(n: number): number {
  return n + 2;
}

/** M [N, N + 2], row-major: x_n = (1/N)[Re X_0 + (−1)^n Re X_{N/2} + 2 Σ_{0<k<N/2} (Re X_k cos θ − Im X_k sin θ)], θ = 2πkn/N. */
export function dftSynthesis(n: number): Float32Array {
  checkEven(n, 'length');
  const half = n / 2;
  const f = n + 2;
  const m = new Float32Array(n * f);
  for (let t = 0; t < n; t++) {
    for (let k = 0; k <= half; k++) {
      const scale = k === 0 || k === half ? 1 / n : 2 / n;
      const th = (2 * Math.PI * k * t) / n;
      m[t * f + k] = scale * Math.cos(th);
      // Im X_0 and Im X_{N/2} are zero for real signals; their columns stay zero.
      if (k !== 0 && k !== half) m[t * f + half + 1 + k] = -scale * Math.sin(th);
    }
  }
  return m;
}

/** The one-sided spectra of `count` signals of length N (row-major), as [count, N + 2]. */
export function dftCoefficients(x: ArrayLike<number>, n: number): Float32Array {
  checkEven(n, 'length');
  if (x.length % n !== 0) throw new InvalidArgumentError('signals', `${x.length} values are not signals of length ${n}`);
  const count = x.length / n;
  const half = n / 2;
  const f = n + 2;
  const out = new Float32Array(count * f);
  for (let s = 0; s < count; s++) {
    for (let k = 0; k <= half; k++) {
      let re = 0;
      let im = 0;
      for (let t = 0; t < n; t++) {
        const th = (2 * Math.PI * k * t) / n;
        const v = x[s * n + t]!;
        re += v * Math.cos(th);
        im -= v * Math.sin(th);
      }
      out[s * f + k] = re;
      out[s * f + half + 1 + k] = k === 0 || k === half ? 0 : im;
    }
  }
  return out;
}

/** Relevance of the real representation folded per frequency bin: R_k = R(Re X_k) + R(Im X_k), N/2 + 1 bins. */
export function binRelevance(r: ArrayLike<number>, n: number): Float64Array {
  const half = n / 2;
  const f = n + 2;
  if (r.length % f !== 0) throw new InvalidArgumentError('relevance', `${r.length} values are not rows of ${f}`);
  const rows = r.length / f;
  const out = new Float64Array(rows * (half + 1));
  for (let s = 0; s < rows; s++) for (let k = 0; k <= half; k++) out[s * (half + 1) + k] = r[s * f + k]! + r[s * f + half + 1 + k]!;
  return out;
}

export interface StftLayout {
  /** Signal length. */
  n: number;
  /** Window length (even; hop = window/2). */
  window: number;
  hop: number;
  /** Frames: N/hop + 1. */
  frames: number;
  /** Coefficients per frame: window + 2. */
  perFrame: number;
  /** frames × perFrame. */
  size: number;
}

export function stftLayout(n: number, window: number): StftLayout {
  checkEven(window, '--window');
  const hop = window / 2;
  if (!Number.isInteger(n / hop) || window > n) throw new InvalidArgumentError('--window', `the signal length ${n} must be a multiple of the hop ${hop} and at least the window`);
  const frames = n / hop + 1;
  return { n, window, hop, frames, perFrame: window + 2, size: frames * (window + 2) };
}

function hann(w: number): Float64Array {
  return Float64Array.from({ length: w }, (_, j) => 0.5 - 0.5 * Math.cos((2 * Math.PI * j) / w));
}

/** The STFT coefficients of `count` signals: [count, frames × (window + 2)], frame-major. */
export function stftCoefficients(x: ArrayLike<number>, layout: StftLayout): Float32Array {
  const { n, window: w, hop, frames, perFrame } = layout;
  const count = x.length / n;
  const win = hann(w);
  const out = new Float32Array(count * layout.size);
  const seg = new Float64Array(w);
  for (let s = 0; s < count; s++) {
    for (let m = 0; m < frames; m++) {
      const start = m * hop - hop;
      for (let j = 0; j < w; j++) {
        const t = start + j;
        seg[j] = t >= 0 && t < n ? win[j]! * x[s * n + t]! : 0;
      }
      out.set(dftCoefficients(seg, w), s * layout.size + m * perFrame);
    }
  }
  return out;
}

/** M [N, frames × (window + 2)]: overlap-add of each frame's inverse DFT. */
export function stftSynthesis(layout: StftLayout): Float32Array {
  const { n, window: w, hop, frames, perFrame, size } = layout;
  const idft = dftSynthesis(w);
  const m = new Float32Array(n * size);
  for (let fr = 0; fr < frames; fr++) {
    const start = fr * hop - hop;
    for (let j = 0; j < w; j++) {
      const t = start + j;
      if (t < 0 || t >= n) continue;
      for (let c = 0; c < perFrame; c++) m[t * size + fr * perFrame + c] = idft[j * perFrame + c]!;
    }
  }
  return m;
}
