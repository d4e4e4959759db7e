/**
 * Explanations on the user's device: the browser compiles the explainer with the same core as the server and runs
 * it with onnxruntime-web (WASM, or WebGPU where the browser has it), so the input never leaves the machine.
 */
import * as ort from 'onnxruntime-web';
import { compileExplainer, type CompiledExplainer } from '../compiler/compile.js';
import { resolveExplainedOutput } from '../canonicalize/index.js';
import type { Composite } from '../composites/index.js';
import { InvalidArgumentError, RuntimeFailure, XsysError } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { cloneModel, parseModel, serializeModel } from '../onnx/model.js';
import { inputShapes, validateInput } from '../runtime/input.js';
import { argmaxRows, size, type Tensor } from '../runtime/tensor.js';
import type { ModelProto } from 'onnx-buf';

/** Methods that take one run of one compiled graph, which is what an interactive device explanation affords. */
export type DeviceMethod = 'lrp' | 'gradient' | 'gradient-x-input';
export const DEVICE_METHODS: readonly DeviceMethod[] = ['lrp', 'gradient', 'gradient-x-input'];

export type DeviceBackend = 'wasm' | 'webgpu';

export interface DeviceExplainOptions {
  method?: DeviceMethod;
  /** lrp only: composite name or object. Default epsilon-plus-flat. */
  composite?: string | Composite;
  /** Composite parameters (epsilon, gamma, …). */
  params?: Record<string, number>;
  /** Class to explain, or 'pred' (arg-max of the scores, the default). */
  target?: number | 'pred';
}

export interface DeviceExplanation {
  method: DeviceMethod;
  composite?: string;
  /** Same shape as the input. */
  attribution: Tensor;
  /** The explained scores (logits before a terminal Softmax). */
  scores: Tensor;
  target: number;
  backend: DeviceBackend;
  timing: { compileMs: number; sessionMs: number; runMs: number };
}

interface Prepared {
  compiled: CompiledExplainer;
  session: ort.InferenceSession;
  sessionMs: number;
}

/**
 * Where onnxruntime-web finds its .wasm files: a URL prefix (e.g. '/ort/') under which the app serves them itself,
 * so nothing is fetched from a CDN. Call before the first explanation.
 */
export function configureRuntime(options: { wasmPaths?: string; numThreads?: number }): void {
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
  if (options.numThreads !== undefined) ort.env.wasm.numThreads = options.numThreads;
}

/** Whether this browser exposes WebGPU (the adapter may still be refused; sessions then fall back to WASM). */
export function hasWebGpu(): boolean {
  return typeof navigator !== 'undefined' && 'gpu' in navigator && Boolean((navigator as { gpu?: unknown }).gpu);
}

/**
 * onnxruntime-web runs one inference at a time: a run() that overlaps another (a user clicking through classes faster
 * than they compute) fails with "Session already started". All runtime calls of this module therefore queue here, in
 * call order; one WebAssembly instance serves every session, so the queue is global.
 */
let queue: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn, fn);
  queue = next.catch(() => undefined);
  return next;
}

async function createSession(bytes: Uint8Array, backend: DeviceBackend): Promise<ort.InferenceSession> {
  try {
    return await exclusive(() => ort.InferenceSession.create(bytes, { executionProviders: [backend], graphOptimizationLevel: 'all', logSeverityLevel: 3 }));
  } catch (e) {
    throw new RuntimeFailure(`onnxruntime-web (${backend}) could not load the graph: ${(e as Error).message}`, backend === 'webgpu' ? 'try the WASM backend' : 'the model may use an operator onnxruntime-web does not support', e);
  }
}

async function run(session: ort.InferenceSession, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor('float32', v.data, v.dims);
  return exclusive(async () => {
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run(ortFeeds);
    } catch (e) {
      throw new RuntimeFailure(`onnxruntime-web failed while running: ${(e as Error).message}`, 'check that the input shape matches the model', e);
    }
    const result: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(out)) {
      const t = v as ort.Tensor;
      const data = t.location === 'cpu' ? t.data : await t.getData();
      result[k] = { data: data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>), dims: [...t.dims] };
    }
    return result;
  });
}

/**
 * A model prepared for on-device explanation. Compiled graphs and sessions are cached per method and composite, so
 * explaining another class or another image costs one run.
 */
export class DeviceExplainer {
  private cache = new Map<string, Promise<Prepared>>();
  private forward?: Promise<ort.InferenceSession>;
  readonly inputName: string;
  readonly scoresName: string;
  private readonly inputShape;

  private constructor(
    readonly model: ModelProto,
    /** The backend sessions run on: 'webgpu' only if asked for and the browser has it. */
    readonly backend: DeviceBackend,
  ) {
    const g = new Graph(cloneModel(model));
    const floatInputs = g.inputs.filter((i) => i.type?.value.case === 'tensorType' && i.type.value.value.elemType === 1);
    if (floatInputs.length !== 1) {
      throw new XsysError(`on-device explanation needs a model with exactly one float32 input; this one has ${floatInputs.length} (${g.inputs.map((i) => i.name).join(', ')})`, { exitCode: 3 });
    }
    this.inputName = floatInputs[0]!.name;
    this.inputShape = inputShapes(model)[this.inputName];
    this.scoresName = resolveExplainedOutput(g).scores;
  }

  static load(bytes: Uint8Array | ModelProto, options: { backend?: DeviceBackend } = {}): DeviceExplainer {
    const model = bytes instanceof Uint8Array ? parseModel(bytes, 'model') : bytes;
    const backend = options.backend === 'webgpu' && hasWebGpu() ? 'webgpu' : 'wasm';
    return new DeviceExplainer(model, backend);
  }

  /** Scores of the plain forward graph (logits before a terminal Softmax). */
  async scores(input: Tensor): Promise<Tensor> {
    validateInput(this.inputName, input, this.inputShape);
    if (!this.forward) {
      const m = cloneModel(this.model);
      const g = new Graph(m);
      if (!g.isGraphOutput(this.scoresName)) g.addOutput(this.scoresName);
      this.forward = createSession(serializeModel(m), this.backend);
      this.forward.catch(() => (this.forward = undefined));
    }
    return (await run(await this.forward, { [this.inputName]: input }))[this.scoresName]!;
  }

  private prepared(method: 'lrp' | 'gradient', composite: string | Composite | undefined, params: Record<string, number> | undefined): Promise<Prepared> {
    const key = JSON.stringify([method, composite, params]);
    let entry = this.cache.get(key);
    if (!entry) {
      entry = (async () => {
        // WebGPU's MaxPool has no Indices output: route its backward by comparison there.
        const maxPoolRouting = this.backend === 'webgpu' ? 'compare' : 'indices';
        const compiled = compileExplainer(this.model, method === 'lrp' ? { method, composite: composite ?? 'epsilon-plus-flat', params, maxPoolRouting } : { method, maxPoolRouting });
        const t0 = performance.now();
        const session = await createSession(compiled.bytes(), this.backend);
        return { compiled, session, sessionMs: performance.now() - t0 };
      })();
      this.cache.set(key, entry);
      entry.catch(() => this.cache.delete(key));
    }
    return entry;
  }

  /** Explains one input (batch of 1) for one class. */
  async explain(input: Tensor, options: DeviceExplainOptions = {}): Promise<DeviceExplanation> {
    const method = options.method ?? 'lrp';
    if (!DEVICE_METHODS.includes(method)) {
      throw new InvalidArgumentError('method', `method '${String(method)}' does not run on the device`, `on the device: ${DEVICE_METHODS.join(', ')}; the others run on the server`);
    }
    if (method !== 'lrp' && options.composite !== undefined) throw new InvalidArgumentError('composite', `composites apply to method 'lrp' only, not '${method}'`);
    validateInput(this.inputName, input, this.inputShape);
    if (input.dims[0] !== 1) throw new InvalidArgumentError('input', `explains one input at a time, got a batch of ${input.dims[0]}`);
    const t0 = performance.now();
    const scores = await this.scores(input);
    const classes = size(scores.dims);
    const target = options.target === undefined || options.target === 'pred' ? argmaxRows(scores.data, 1)[0]! : options.target;
    if (!Number.isInteger(target) || target < 0 || target >= classes) {
      throw new InvalidArgumentError('target', `class ${target} is out of range: the model has ${classes} classes (0–${classes - 1})`);
    }
    const p = await this.prepared(method === 'lrp' ? 'lrp' : 'gradient', options.composite, method === 'lrp' ? options.params : undefined);
    const seed = new Float32Array(classes);
    seed[target] = 1;
    const out = await run(p.session, { [this.inputName]: input, [p.compiled.seedName]: { data: seed, dims: [...scores.dims] } });
    const grad = out[p.compiled.attributionNames[this.inputName]!]!;
    const attribution = method === 'gradient-x-input' ? { data: grad.data.map((g, i) => g * input.data[i]!), dims: grad.dims } : grad;
    const composite = method === 'lrp' ? (typeof options.composite === 'object' ? options.composite.name : options.composite ?? 'epsilon-plus-flat') : undefined;
    return { method, composite, attribution, scores, target, backend: this.backend, timing: { compileMs: p.compiled.compileMs, sessionMs: p.sessionMs, runMs: performance.now() - t0 } };
  }
}

/** One-shot convenience: compile, run and return the explanation of one input (batch of 1). */
export async function explainOnDevice(model: Uint8Array | ModelProto, input: Tensor, options: DeviceExplainOptions & { backend?: DeviceBackend } = {}): Promise<DeviceExplanation> {
  return DeviceExplainer.load(model, { backend: options.backend }).explain(input, options);
}
