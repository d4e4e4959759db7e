/**
 * Heatmap pixels for the views. Relevance per pixel is the sum over channels (the LRP convention, as the service's
 * PNGs); the colour index follows Zennit's imgify (symmetric: 0 ↦ the middle of the map, ±scale ↦ its ends), so with
 * `scale` = the map's own max |R| the colours equal the service's heatmap. A shared scale (Compare) makes panels
 * comparable; in 'alpha' mode each pixel's opacity is |R| / scale, so zero relevance shows the input, not white paint.
 */
import { palette } from '../../../src/browser/index.js';
import type { Tensor } from './tensor';

export interface PixelRelevance {
  values: Float64Array;
  width: number;
  height: number;
  /** max |R| over the pixels (0 when the map is all zero). */
  maxAbs: number;
}

export function pixelRelevance(t: Tensor): PixelRelevance {
  let dims = t.dims;
  if (dims.length === 4 && dims[0] === 1) dims = dims.slice(1);
  const [c, h, w] = dims.length === 2 ? [1, dims[0]!, dims[1]!] : dims.length === 3 ? [dims[0]!, dims[1]!, dims[2]!] : [1, 1, t.data.length];
  const plane = h * w;
  const values = new Float64Array(plane);
  let maxAbs = 0;
  for (let p = 0; p < plane; p++) {
    let acc = 0;
    for (let k = 0; k < c; k++) acc += t.data[k * plane + p]!;
    values[p] = acc;
    maxAbs = Math.max(maxAbs, Math.abs(acc));
  }
  return { values, width: w, height: h, maxAbs };
}

export type OverlayMode = 'alpha' | 'blend';

/** RGBA pixels of a relevance map under a colour map, scaled by ±scale (default: its own max |R|). */
export function paintHeat(r: PixelRelevance, cmap: string, mode: OverlayMode, scale = r.maxAbs): ImageData {
  const pal = palette(cmap);
  const img = new ImageData(r.width, r.height);
  for (let p = 0; p < r.values.length; p++) {
    const v = r.values[p]!;
    const index = scale > 0 ? Math.trunc(Math.min(255, Math.max(0, ((v + scale) / (2 * scale)) * 255))) : 127;
    img.data[p * 4] = pal[index * 3]!;
    img.data[p * 4 + 1] = pal[index * 3 + 1]!;
    img.data[p * 4 + 2] = pal[index * 3 + 2]!;
    img.data[p * 4 + 3] = mode === 'alpha' ? (scale > 0 ? Math.round(Math.min(1, Math.abs(v) / scale) * 255) : 0) : 255;
  }
  return img;
}

function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('the input image could not be loaded'));
    img.src = url;
  });
}

/** The overlay as the view shows it (input, grey in 'alpha' mode, with the heatmap over it), as a PNG of `size` px. */
export async function overlayPng(opts: { imageUrl?: string; attribution: Tensor; cmap: string; opacity: number; mode: OverlayMode; scale?: number; size?: number }): Promise<Blob> {
  const r = pixelRelevance(opts.attribution);
  const size = opts.size ?? Math.max(256, r.width * Math.ceil(256 / r.width));
  const height = Math.round((size * r.height) / r.width);
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = height;
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  if (opts.imageUrl) {
    const img = await loadImage(opts.imageUrl);
    // As on screen: grey, at half contrast, so the colours of relevance stand out.
    if (opts.mode === 'alpha') ctx.filter = 'grayscale(1) contrast(0.5)';
    ctx.drawImage(img, 0, 0, size, height);
    ctx.filter = 'none';
  } else {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, size, height);
  }
  const heat = document.createElement('canvas');
  heat.width = r.width;
  heat.height = r.height;
  heat.getContext('2d')!.putImageData(paintHeat(r, opts.cmap, opts.mode, opts.scale), 0, 0);
  ctx.globalAlpha = opts.imageUrl ? opts.opacity : 1;
  ctx.drawImage(heat, 0, 0, size, height);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
}

/** Saves bytes as a file through the browser's download. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
