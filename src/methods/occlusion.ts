/**
 * Occlusion as Captum defines it: a window covering all channels slides over the spatial dims; each feature gets the
 * mean, over the windows covering it, of f_t(x) − f_t(x with the window filled). Windows are evaluated in batches.
 */
import { InvalidArgumentError } from '../errors.js';
import { size, type Tensor } from '../runtime/tensor.js';
import { defineMethod, type MethodContext } from './define.js';
import { bounds } from './limits.js';

export const occlusion = defineMethod({
  name: 'occlusion',
  description: 'the drop of the target score when a window of the input is filled with a constant (Captum)',
  params: [
    { name: 'window', type: 'integer', default: 8, ...bounds('occlusion', 'window'), description: 'side of the occluding window, in spatial elements (at most the input size)' },
    { name: 'stride', type: 'integer', default: 4, ...bounds('occlusion', 'stride'), description: 'step between windows' },
    { name: 'fill', type: 'number', default: 0, ...bounds('occlusion', 'fill'), description: 'value written into the occluded window' },
  ],
  explain: async (ctx) => ({ attribution: await occlude(ctx) }),
});

async function occlude(ctx: MethodContext): Promise<Tensor> {
  const { input, targets, scores, params, maxBatch, onProgress } = ctx;
  const [n, ...rest] = input.dims as [number, ...number[]];
  const spatial = rest.length >= 3 ? rest.slice(1) : rest;
  const channels = rest.length >= 3 ? rest[0]! : 1;
  const win = Math.round(params.window!);
  const stride = Math.round(params.stride!);
  if (win < 1 || stride < 1) throw new InvalidArgumentError('--param', 'occlusion window and stride must be ≥ 1');
  const positions = spatial.map((d) => Math.max(0, Math.floor((d - Math.min(win, d)) / stride) + 1));
  const starts: number[][] = [[]];
  for (const [axis, count] of positions.entries()) {
    const next: number[][] = [];
    for (const s of starts) for (let p = 0; p < count; p++) next.push([...s, Math.min(p * stride, spatial[axis]! - Math.min(win, spatial[axis]!))]);
    starts.splice(0, starts.length, ...next);
  }
  const per = size(rest);
  const plane = size(spatial);
  const classes = size(scores.dims) / n;
  const sum = new Float32Array(n * per);
  const count = new Float32Array(n * per);
  const jobs: { sample: number; start: number[] }[] = [];
  for (let s = 0; s < n; s++) for (const st of starts) jobs.push({ sample: s, start: st });
  const inWindow = (idx: number, st: number[]): boolean => {
    let rem = idx;
    for (let a = spatial.length - 1; a >= 0; a--) {
      const coord = rem % spatial[a]!;
      rem = Math.floor(rem / spatial[a]!);
      if (coord < st[a]! || coord >= st[a]! + win) return false;
    }
    return true;
  };
  for (let b0 = 0; b0 < jobs.length; b0 += maxBatch) {
    const chunk = jobs.slice(b0, b0 + maxBatch);
    const data = new Float32Array(chunk.length * per);
    const masks = chunk.map(({ sample, start }, b) => {
      const mask = new Uint8Array(plane);
      for (let i = 0; i < plane; i++) mask[i] = inWindow(i, start) ? 1 : 0;
      for (let c = 0; c < channels; c++) {
        for (let i = 0; i < plane; i++) data[b * per + c * plane + i] = mask[i] ? params.fill! : input.data[sample * per + c * plane + i]!;
      }
      return mask;
    });
    const out = await ctx.scoresOf({ data, dims: [chunk.length, ...rest] });
    chunk.forEach(({ sample }, b) => {
      const t = targets[sample]!;
      const diff = scores.data[sample * classes + t]! - out.data[b * classes + t]!;
      const mask = masks[b]!;
      for (let c = 0; c < channels; c++) {
        for (let i = 0; i < plane; i++) {
          if (!mask[i]) continue;
          sum[sample * per + c * plane + i]! += diff;
          count[sample * per + c * plane + i]! += 1;
        }
      }
    });
    onProgress?.(Math.min(b0 + maxBatch, jobs.length), jobs.length);
  }
  return { data: sum.map((v, i) => (count[i]! > 0 ? v / count[i]! : 0)), dims: [...input.dims] };
}
