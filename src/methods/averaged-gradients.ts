/**
 * The loop SmoothGrad and Integrated Gradients share: k perturbed copies of every sample, their gradients computed in
 * batched runs of at most maxBatch inputs and averaged per sample.
 */
import type { MethodContext } from './define.js';

/** `fill(data, offset, sample, j)` writes copy j of sample into data at offset (per values). */
export async function averagedGradients(ctx: MethodContext, k: number, fill: (data: Float32Array, offset: number, sample: number, j: number) => void): Promise<Float32Array> {
  const { input, targets, maxBatch } = ctx;
  const n = input.dims[0]!;
  const per = input.data.length / n;
  const acc = new Float32Array(n * per);
  const jobs: { sample: number; j: number }[] = [];
  for (let s = 0; s < n; s++) for (let j = 0; j < k; j++) jobs.push({ sample: s, j });
  for (let start = 0; start < jobs.length; start += maxBatch) {
    const chunk = jobs.slice(start, start + maxBatch);
    const data = new Float32Array(chunk.length * per);
    chunk.forEach(({ sample, j }, b) => fill(data, b * per, sample, j));
    const { attribution: grad } = await ctx.backward({ data, dims: [chunk.length, ...input.dims.slice(1)] }, chunk.map((c) => targets[c.sample]!), { method: 'gradient' });
    chunk.forEach(({ sample }, b) => {
      for (let i = 0; i < per; i++) acc[sample * per + i]! += grad.data[b * per + i]! / k;
    });
    ctx.onProgress?.(Math.min(start + maxBatch, jobs.length), jobs.length);
  }
  return acc;
}
