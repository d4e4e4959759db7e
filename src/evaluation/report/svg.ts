/** Small helpers for hand-written SVG: escaping, number formatting, a colour-blind-safe sequential scale. */

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Compact number for cells: 3 significant digits, exponent form outside [1e-3, 1e5). */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'n/a' : v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e5) return v.toExponential(2);
  return Number(v.toPrecision(3)).toString();
}

/** Viridis (perceptually uniform, readable in greyscale and by colour-blind readers), 10 stops. */
const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'].map((h) => [
  parseInt(h.slice(1, 3), 16),
  parseInt(h.slice(3, 5), 16),
  parseInt(h.slice(5, 7), 16),
]);

/** Viridis at t ∈ [0, 1] as [r, g, b]. */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as [number, number, number];
}

export function rgb(c: readonly number[]): string {
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** Black or white, whichever reads better on `c` (relative luminance). */
export function textOn(c: readonly number[]): string {
  const lum = (0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!) / 255;
  return lum > 0.5 ? '#111' : '#fff';
}

/** Rough text width in px for a sans-serif font (SVG has no layout engine to ask). */
export function textWidth(text: string, size: number): number {
  return [...text].length * size * 0.58;
}
