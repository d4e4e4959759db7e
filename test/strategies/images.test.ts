import { describe, expect, it } from 'vitest';
import { CLUSTER_COLORS, heatmapStrip, imageStrip, scatterImage } from '../../src/render/strategy-images.js';
import { reduceLayer } from '../../src/strategies/features.js';
import { pasteArtefact, trainingHasArtefact } from '../../src/strategies/artefact.js';

describe('strategy pictures', () => {
  it('scatter: a point at (0,0) lands bottom-left, (1,1) top-right, in its cluster colour', () => {
    const img = scatterImage([0, 0, 1, 1], [0, 1], 40, 1);
    const px = (x: number, y: number) => Array.from(img.data.subarray((y * 40 + x) * 3, (y * 40 + x) * 3 + 3));
    // margin = dot + 4 = 5: (0,0) ↦ pixel (5, 34), (1,1) ↦ (34, 5).
    expect(px(5, 34)).toEqual(CLUSTER_COLORS[0]);
    expect(px(34, 5)).toEqual(CLUSTER_COLORS[1]);
    expect(px(20, 20)).toEqual([255, 255, 255]);
  });
  it('strips place maps side by side with white gaps', () => {
    const img = heatmapStrip([[1, 0, 0, -1], [0, 0, 0, 0]], 2, 2, 1);
    expect(img.width).toBe(5);
    // bwr: +max is red, −max blue, 0 white.
    expect(img.data[0]).toBeGreaterThan(200);
    expect(img.data[2]).toBeLessThan(60);
    expect(Array.from(img.data.subarray(2 * 3, 3 * 3))).toEqual([255, 255, 255]);
    const g = imageStrip(Uint8Array.from([10, 20, 30, 40]), [1], 1, 2);
    expect(Array.from(g.data)).toEqual([30, 30, 30, 40, 40, 40]);
  });
});

describe('layer vectors and the artefact generator', () => {
  it('reduceLayer sums channels over space or flattens', () => {
    const t = { data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), dims: [1, 2, 2, 2] };
    expect(Array.from(reduceLayer(t, 'channels').data)).toEqual([10, 26]);
    expect(reduceLayer(t, 'flatten').d).toBe(8);
  });
  it('pastes the square only where asked, and marks the training images as the script did', () => {
    const spec = { class: 3, row: 1, col: 1, size: 2, value: 255, trainImages: 100, cleanEvery: 2 };
    const imgs = new Uint8Array(2 * 16);
    const out = pasteArtefact(imgs, 4, 4, [0, 1], spec, (k) => k === 1);
    expect(Array.from(out.subarray(0, 16)).every((v) => v === 0)).toBe(true);
    expect(Array.from(out.subarray(16)).filter((v) => v === 255)).toHaveLength(4);
    expect(out[16 + 1 * 4 + 1]).toBe(255);
    expect(Array.from(trainingHasArtefact([3, 1, 3, 3, 3], spec))).toEqual([1, 0, 0, 1, 0]);
    expect(() => pasteArtefact(imgs, 4, 4, [0], { ...spec, row: 3 }, () => true)).toThrow(/does not fit/);
  });
});
