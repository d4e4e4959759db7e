/**
 * A component at a glance: its reference samples side by side, each dimmed outside the crop box (the region the
 * foundation model saw), as one 8-bit picture for the CLI's PNGs and the workbench.
 */
import { InvalidArgumentError } from '../errors.js';
import type { RasterImage } from '../render/heatmap.js';
import type { Box } from '../concepts/atlas.js';

export const MAX_STRIP = 64;

export function referenceStrip(items: readonly { image: RasterImage; box?: Box }[], options: { gap?: number; dim?: number } = {}): RasterImage {
  if (items.length === 0 || items.length > MAX_STRIP) throw new InvalidArgumentError('samples', `a strip shows 1…${MAX_STRIP} samples`);
  const gap = options.gap ?? 2;
  const dim = options.dim ?? 0.3;
  const h = Math.max(...items.map((i) => i.image.height));
  const widths = items.map((i) => i.image.width);
  const w = widths.reduce((a, b) => a + b, 0) + gap * (items.length - 1);
  // RGB so the box outline can be coloured; grey pictures are replicated.
  const out = new Uint8Array(w * h * 3).fill(255);
  let x0 = 0;
  for (const { image, box } of items) {
    const c = image.channels ?? 3;
    const [by0, bx0, by1, bx1] = box ?? [0, 0, image.height, image.width];
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const inside = y >= by0 && y < by1 && x >= bx0 && x < bx1;
        const edge = inside && box !== undefined && (y === by0 || y === by1 - 1 || x === bx0 || x === bx1 - 1);
        const p = (y * image.width + x) * c;
        const o = (y * w + x0 + x) * 3;
        for (let k = 0; k < 3; k++) {
          const v = image.data[p + (c === 1 ? 0 : k)]!;
          out[o + k] = edge ? (k === 0 ? Math.max(v, 200) : Math.round(v * 0.6)) : inside ? v : Math.round(v * dim);
        }
      }
    }
    x0 += image.width + gap;
  }
  return { data: out, width: w, height: h, channels: 3 };
}
