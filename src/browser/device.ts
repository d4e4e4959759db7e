/**
 * Explanations on the user's device: the browser compiles the explainer with the same core as the server and runs
 * it with onnxruntime-web (WASM, or WebGPU where the browser has it), so the input never leaves the machine.
 */
import type { ModelProto } from 'onnx-buf';
import { DEFAULT_COMPOSITE, namedComposite, type Composite } from '../composites/index.js';
import { InvalidArgumentError, XsysError } from '../errors.js';
import { getMethod, METHODS } from '../methods/registry.js';
import { ExplainSession } from '../methods/session.js';
import { parseModel } from '../onnx/model.js';
import { inputShapes, validateInput } from '../runtime/input.js';
import type { Tensor } from '../runtime/tensor.js';
import { webRuntime, type DeviceBackend } from './runtime.js';

export { configureRuntime, type DeviceBackend } from './runtime.js';

/** Methods that take one run of one compiled graph, which is what an interactive device explanation affords. */
export type DeviceMethod = 'lrp' | 'gradient' | 'gradient-x-input';
export const DEVICE_METHODS: readonly DeviceMethod[] = METHODS.filter((m) => m.device).map((m) => m.name as DeviceMethod);

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

/** Whether this browser exposes WebGPU (the adapter may still be refused; sessions then fall back to WASM). */
export function hasWebGpu(): boolean {
  return typeof navigator !== 'undefined' && 'gpu' in navigator && Boolean((navigator as { gpu?: unknown }).gpu);
}

/**
 * A model prepared for on-device explanation: the device face of an ExplainSession on onnxruntime-web. Compiled graphs
 * and sessions are cached per method and composite, so explaining another class or another image costs one run.
 */
export class DeviceExplainer {
  readonly inputName: string;
  readonly scoresName: string;
  private readonly inputShape;
  readonly session: ExplainSession;

  private constructor(
    readonly model: ModelProto,
    /** The backend sessions run on: 'webgpu' only if asked for and the browser has it. */
    readonly backend: DeviceBackend,
  ) {
    this.session = new ExplainSession(model, webRuntime(backend));
    const floats = this.session.floatInputs;
    if (floats.length !== 1) {
      throw new XsysError(`on-device explanation needs a model with exactly one float32 input; this one has ${floats.length} (${this.session.inputs.map((i) => i.name).join(', ')})`, { exitCode: 3 });
    }
    this.inputName = floats[0]!;
    this.inputShape = inputShapes(model)[this.inputName];
    this.scoresName = this.session.scoresName;
  }

  static load(bytes: Uint8Array | ModelProto, options: { backend?: DeviceBackend } = {}): DeviceExplainer {
    const model = bytes instanceof Uint8Array ? parseModel(bytes, 'model') : bytes;
    const backend = options.backend === 'webgpu' && hasWebGpu() ? 'webgpu' : 'wasm';
    return new DeviceExplainer(model, backend);
  }

  /** Scores of the plain forward graph (logits before a terminal Softmax). */
  async scores(input: Tensor): Promise<Tensor> {
    validateInput(this.inputName, input, this.inputShape);
    return this.session.scores({ [this.inputName]: input });
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
    const composite = method === 'lrp' ? (typeof options.composite === 'object' ? options.composite : namedComposite(options.composite ?? DEFAULT_COMPOSITE, options.params)) : undefined;
    const r = await this.session.onePass({ [this.inputName]: input }, getMethod(method).pass!, { composite, target: options.target ?? 'pred', targetArg: 'target' });
    return {
      method,
      composite: composite?.name,
      attribution: r.attributions[this.inputName]!,
      scores: r.fullScores,
      target: r.targets[0]!,
      backend: this.backend,
      timing: r.timing,
    };
  }
}

/** One-shot convenience: compile, run and return the explanation of one input (batch of 1). */
export async function explainOnDevice(model: Uint8Array | ModelProto, input: Tensor, options: DeviceExplainOptions & { backend?: DeviceBackend } = {}): Promise<DeviceExplanation> {
  return DeviceExplainer.load(model, { backend: options.backend }).explain(input, options);
}
