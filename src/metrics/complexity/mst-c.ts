import { InputDataError } from '../../errors.js';
import { defineMetric } from '../core/define.js';
import { boolParam, numParam } from '../core/params.js';
import { convexHullArea, minimumSpanningForest, percentile, symmetricKnnEdges } from './geometry.js';

/**
 * MST-C, structural compactness (Mesgari et al.): the salient points V (|a| at or above the `threshold`
 * percentile) should be many per unit of minimum-spanning-tree length (cohesion |V| / L_MST) and fill a small
 * convex hull (spread 1 / √area). Attributions [n, C, H, W] are summed over channels to one map per sample
 * (after abs); [n, H, W] maps are used as they are.
 */
export const mstC = defineMetric({
  name: 'mst-c',
  category: 'complexity',
  direction: 'higher',
  description: 'Structural compactness: (|V| / MST length) / √(hull area) of the salient points (Mesgari et al.); higher = more compact.',
  defaults: { normalise: 'batch', abs: true, threshold: 80, k: 20, autoIncreaseK: false, scaleScore: true },
  compute(p, _ctx, params, out) {
    const threshold = numParam('mst-c', params, 'threshold', { min: 0 });
    if (threshold >= 100) numParam('mst-c', params, 'threshold', { max: 99.999999 });
    const k0 = numParam('mst-c', params, 'k', { min: 1, integer: true });
    const autoK = boolParam('mst-c', params, 'autoIncreaseK');
    const scale = boolParam('mst-c', params, 'scaleScore');
    const dims = p.shape.slice(1);
    if (dims.length < 2) throw new InputDataError(`mst-c needs 2-D attribution maps, got sample shape [${dims.join(', ')}]`, 'use image inputs [n, C, H, W] or [n, H, W]');
    const H = dims[dims.length - 2]!;
    const W = dims[dims.length - 1]!;
    const C = p.d / (H * W);
    const diagonal = Math.hypot(H, W);
    for (let i = 0; i < p.n; i++) {
      const map = new Float64Array(H * W);
      for (let c = 0; c < C; c++) for (let j = 0; j < H * W; j++) map[j]! += Math.abs(p.a[i * p.d + c * H * W + j]!);
      let max = 0;
      for (const v of map) max = Math.max(max, v);
      // An all-zero map has no salient structure (Quantus scores it 0, not undefined).
      if (max === 0) {
        out.set(i, 0);
        continue;
      }
      const cut = percentile(map, threshold);
      const xs: number[] = [];
      const ys: number[] = [];
      for (let j = 0; j < H * W; j++) {
        if (map[j]! >= cut) {
          xs.push(Math.floor(j / W));
          ys.push(j % W);
        }
      }
      const m = xs.length;
      if (m < 2) {
        out.undefinedFor(i, `only ${m} salient point after thresholding`);
        continue;
      }
      const px = Float64Array.from(xs);
      const py = Float64Array.from(ys);
      const area = convexHullArea(px, py);
      const sqrtArea = area > 1e-12 ? Math.sqrt(area) : diagonal;
      let k = Math.min(k0, m - 1);
      let forest = minimumSpanningForest(m, symmetricKnnEdges(px, py, k, H, W));
      while (autoK && forest.components !== 1 && k < m - 1) {
        k++;
        forest = minimumSpanningForest(m, symmetricKnnEdges(px, py, k, H, W));
      }
      if (!(forest.length > 0)) {
        out.undefinedFor(i, 'the minimum spanning tree has zero length');
        continue;
      }
      let score = (m / forest.length) / sqrtArea;
      if (scale) score *= diagonal * 100;
      out.set(i, score);
    }
  },
});
