import type { ModelProto } from 'onnx-buf';
import { InvalidArgumentError } from '../errors.js';
import { size, type Tensor } from '../runtime/tensor.js';
import { Graph } from '../ir/graph.js';
import { ModelExplainer } from './explainer.js';
import { METHOD_NAMES, type Explanation, type ExplainOptions, type MethodName } from './types.js';
import { mulberry32, gaussian } from './random.js';
import { resolveComposite } from '../composites/file.js';

/** Each method's numeric parameters with their defaults (the server's parameter forms and provenance read them). */
export const METHOD_PARAMS: Readonly<Record<MethodName, Readonly<Record<string, number>>>> = {
  lrp: {},
  gradient: {},
  'gradient-x-input': {},
  smoothgrad: { noiseLevel: 0.1, samples: 20, seed: 0 },
  'integrated-gradients': { steps: 20, baseline: 0 },
  occlusion: { window: 8, stride: 4, fill: 0 },
  'grad-cam': {},
};

function methodParams(method: MethodName, given: Record<string, number>): Record<string, number> {
  const defaults = METHOD_PARAMS[method];
  for (const k of Object.keys(given)) {
    if (method !== 'lrp' && !(k in defaults)) {
      throw new InvalidArgumentError('--param', `method '${method}' has no parameter '${k}'`, Object.keys(defaults).length ? `its parameters: ${Object.keys(defaults).join(', ')}` : 'it takes no parameters');
    }
  }
  return { ...defaults, ...given };
}

/**
 * Explains a batch of inputs with one method. `model` may be a path, ONNX bytes, a ModelProto or a prepared
 * ModelExplainer (reuse one for many calls: compiled graphs and sessions are cached in it).
 */
export async function explain(model: string | Uint8Array | ModelProto | ModelExplainer, input: Tensor, options: ExplainOptions = {}): Promise<Explanation> {
  const method = options.method ?? 'lrp';
  if (!METHOD_NAMES.includes(method)) throw new InvalidArgumentError('--method', `unknown method '${method}'`, `methods: ${METHOD_NAMES.join(', ')}`);
  const mx = model instanceof ModelExplainer ? model : await ModelExplainer.load(model, { threads: options.threads });
  mx.validate(input);
  const params = methodParams(method, options.params ?? {});
  const maxBatch = batchLimit(mx.inputShape, options.maxBatch);
  const t0 = performance.now();
  // The scores of the output being explained: targets, class counts and the seed's shape all come from them.
  const scores = await mx.scores(input, options.output);
  const targets = mx.resolveTargets(options.target ?? 'pred', scores);
  const n = input.dims[0]!;
  const per = size(input.dims) / n;
  let compileMs = 0;
  let sessionMs = 0;
  const relevanceAt: Record<string, Tensor> = {};

  const gradientOf = async (batch: Tensor, batchTargets: number[], extra: string[] = []) => {
    const c = await mx.compiled({ method: 'gradient', output: options.output, relevanceAt: extra.length ? extra : undefined });
    compileMs = c.compiled.compileMs;
    sessionMs = c.sessionMs;
    const out = await mx.runCompiled(c, batch, batchTargets, scores.dims);
    return { grad: out[c.compiled.attributionNames[mx.inputName]!]!, out, c };
  };

  let attribution: Tensor;
  switch (method) {
    case 'lrp': {
      // A composite may name a JSON file here (Node); the compiler itself takes names or objects only.
      const c = await mx.compiled({ method: 'lrp', composite: resolveComposite(options.composite ?? 'epsilon-plus-flat', options.params), output: options.output, relevanceAt: options.relevanceAt });
      compileMs = c.compiled.compileMs;
      sessionMs = c.sessionMs;
      const out = await mx.runCompiled(c, input, targets, scores.dims);
      attribution = out[c.compiled.attributionNames[mx.inputName]!]!;
      for (const [t, name] of Object.entries(c.compiled.relevanceAtNames)) relevanceAt[t] = out[name]!;
      break;
    }
    case 'gradient':
    case 'gradient-x-input': {
      const { grad, out, c } = await gradientOf(input, targets, options.relevanceAt ?? []);
      for (const [t, name] of Object.entries(c.compiled.relevanceAtNames)) relevanceAt[t] = out[name]!;
      attribution = method === 'gradient' ? grad : { data: grad.data.map((g, i) => g * input.data[i]!), dims: grad.dims };
      break;
    }
    case 'smoothgrad':
    case 'integrated-gradients': {
      // Every sample's perturbed copies are evaluated in batched runs of at most maxBatch inputs.
      const k = method === 'smoothgrad' ? Math.max(1, Math.round(params.samples!)) : Math.max(1, Math.round(params.steps!));
      const acc = new Float32Array(n * per);
      const rand = mulberry32(params.seed ?? 0);
      const jobs: { sample: number; j: number }[] = [];
      for (let s = 0; s < n; s++) for (let j = 0; j < k; j++) jobs.push({ sample: s, j });
      const stds = new Float32Array(n);
      for (let s = 0; s < n; s++) {
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = 0; i < per; i++) {
          const v = input.data[s * per + i]!;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        stds[s] = (params.noiseLevel ?? 0) * (hi - lo);
      }
      for (let start = 0; start < jobs.length; start += maxBatch) {
        const chunk = jobs.slice(start, start + maxBatch);
        const data = new Float32Array(chunk.length * per);
        chunk.forEach(({ sample, j }, b) => {
          const src = sample * per;
          if (method === 'smoothgrad') {
            // As Zennit: the last of the samples is noise-free.
            const noisy = j < k - 1;
            for (let i = 0; i < per; i++) data[b * per + i] = input.data[src + i]! + (noisy ? gaussian(rand) * stds[sample]! : 0);
          } else {
            const alpha = (j + 1) / k;
            const base = params.baseline!;
            for (let i = 0; i < per; i++) data[b * per + i] = base + alpha * (input.data[src + i]! - base);
          }
        });
        const { grad } = await gradientOf({ data, dims: [chunk.length, ...input.dims.slice(1)] }, chunk.map((c) => targets[c.sample]!));
        chunk.forEach(({ sample }, b) => {
          for (let i = 0; i < per; i++) acc[sample * per + i]! += grad.data[b * per + i]! / k;
        });
        options.onProgress?.(Math.min(start + maxBatch, jobs.length), jobs.length);
      }
      if (method === 'integrated-gradients') for (let i = 0; i < acc.length; i++) acc[i]! *= input.data[i]! - params.baseline!;
      attribution = { data: acc, dims: [...input.dims] };
      break;
    }
    case 'occlusion':
      attribution = await occlusion(mx, input, targets, scores, params, maxBatch, options.output, options.onProgress);
      break;
    case 'grad-cam': {
      const layer = options.layer ?? defaultCamLayer(mx.model);
      const { out, c } = await gradientOf(input, targets, [layer]);
      const g = out[c.compiled.relevanceAtNames[layer]!]!;
      const act = await mx.forwardTensor(input, layer);
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
      attribution = { data: cam, dims: [N, 1, ...sp] };
      break;
    }
  }
  return {
    method,
    composite: method === 'lrp' ? options.composite ?? 'epsilon-plus-flat' : undefined,
    attribution,
    scores,
    targets,
    relevanceAt,
    timing: { compileMs, sessionMs, runMs: performance.now() - t0 },
  };
}

/** Captum's Grad-CAM default in xsys: the input of the last GlobalAveragePool, else of the last Flatten. */
export function defaultCamLayer(model: ModelProto): string {
  const nodes = new Graph(model).nodes;
  const gap = [...nodes].reverse().find((n) => n.opType === 'GlobalAveragePool');
  const flat = [...nodes].reverse().find((n) => n.opType === 'Flatten');
  const layer = gap?.input[0] ?? flat?.input[0];
  if (!layer) throw new InvalidArgumentError('--layer', 'no GlobalAveragePool or Flatten node to pick a Grad-CAM layer from', 'pass --layer <tensor name> (see xsys inspect)');
  return layer;
}

/**
 * Occlusion as Captum defines it: a window covering all channels slides over the spatial dims; each feature gets the
 * mean, over the windows covering it, of f_t(x) − f_t(x with the window filled). Windows are evaluated in batches.
 */
async function occlusion(mx: ModelExplainer, input: Tensor, targets: number[], scores: Tensor, params: Record<string, number>, maxBatch: number, output: string | undefined, onProgress?: (d: number, t: number) => void): Promise<Tensor> {
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
    const out = await mx.scores({ data, dims: [chunk.length, ...rest] }, output);
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

/**
 * How many inputs one ORT run may take: `maxBatch` (default 32), but never more than a batch size the model fixes
 * in its declared input shape (exports with a static batch of 1 refuse anything else).
 */
export function batchLimit(inputShape: readonly (number | string | null)[] | undefined, maxBatch?: number): number {
  const fixed = typeof inputShape?.[0] === 'number' && inputShape[0] > 0 ? inputShape[0] : undefined;
  const wanted = Math.max(1, Math.floor(maxBatch ?? 32));
  return fixed !== undefined ? Math.min(fixed, wanted) : wanted;
}
