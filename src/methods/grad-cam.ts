/**
 * Grad-CAM (Selvaraju et al. 2017) as Captum's LayerGradCam: the layer's activations weighted by the spatial mean of
 * the target's gradient there, summed over channels ([N, 1, h, w] at the layer; no ReLU, no upsampling).
 */
import { defineMethod } from './define.js';

export const gradCam = defineMethod({
  name: 'grad-cam',
  description: 'class activation map at a layer: activations weighted by the mean gradient per channel (Captum)',
  params: [{ name: 'layer', type: 'string', description: 'tensor whose activations and gradients make the map (default: the input of the last GlobalAveragePool, else of the last Flatten)' }],
  // One gradient run and one forward probe of the layer.
  onePass: true,
  async explain(ctx) {
    const layer = ctx.layer ?? ctx.defaultCamLayer();
    const { relevanceAt } = await ctx.backward(ctx.input, ctx.targets, { method: 'gradient', relevanceAt: [layer] });
    const g = relevanceAt[layer]!;
    const act = await ctx.forwardTensor(ctx.input, layer);
    const [N, C, ...sp] = g.dims as [number, number, ...number[]];
    const hw = sp.reduce((a, b) => a * b, 1);
    const cam = new Float32Array(N * hw);
    for (let b = 0; b < N; b++) {
      for (let ch = 0; ch < C; ch++) {
        const off = (b * C + ch) * hw;
        let mean = 0;
        for (let i = 0; i < hw; i++) mean += g.data[off + i]!;
        mean /= hw;
        for (let i = 0; i < hw; i++) cam[b * hw + i]! += mean * act.data[off + i]!;
      }
    }
    return { attribution: { data: cam, dims: [N, 1, ...sp] } };
  },
});
