/**
 * What an attribution method is to xsys: a declaration (name, parameters with defaults and ranges, where it can run)
 * and one function that explains a batch through a small context. A method is one file under src/methods/ that
 * calls defineMethod, plus one line in src/methods/registry.ts. Method files import this module, never the registry
 * (which imports them).
 */
import type { BackwardKind } from '../compiler/compile.js';
import type { Composite } from '../composites/index.js';
import type { ParamSpec } from '../param-spec.js';
import type { Tensor } from '../runtime/tensor.js';
import type { Condition, ConditionalItem } from './conditions.js';

/** What one run of a compiled explainer returns for the explained float input. */
export interface BackwardResult {
  attribution: Tensor;
  /** The relevance (or gradient) at requested intermediate tensors. */
  relevanceAt: Record<string, Tensor>;
}

/** Everything a method may use to explain one batch; the front end (explain(), an ExplainSession) provides it. */
export interface MethodContext {
  /** The float input batch [N, …]. */
  input: Tensor;
  /** The explained scores of the unperturbed batch (logits before a terminal Softmax). */
  scores: Tensor;
  /** One class per sample. */
  targets: number[];
  /** The method's parameters, defaults filled in (see the method's `params`). */
  params: Readonly<Record<string, number>>;
  /** lrp: the composite, resolved. */
  composite?: Composite;
  /** grad-cam: the tensor to explain, when given. */
  layer?: string;
  /** crp: the condition (its `conditions` parameter, parsed): channels of layers, highest layer first. */
  conditions?: Condition;
  /** Intermediate tensors whose relevance is also wanted (one-pass methods). */
  relevanceAt?: string[];
  /** Most inputs in one runtime call, for methods that evaluate many perturbed copies. */
  maxBatch: number;
  onProgress?: (done: number, total: number) => void;
  /** One run of the compiled explainer (`method` 'gradient' or 'lrp') on a batch, seeded with one-hot targets. */
  backward(batch: Tensor, targets: number[], options: { method: BackwardKind; composite?: Composite; relevanceAt?: string[] }): Promise<BackwardResult>;
  /**
   * The conditional-relevance hook (CRP, zennit-crp's exclude_parallel): the relevance of a batch seeded with one-hot
   * targets, restricted to each condition's channels (the context's composite); one run for all conditions.
   */
  conditional(batch: Tensor, targets: number[], conditions: readonly Condition[], options?: { record?: readonly string[] }): Promise<ConditionalItem[]>;
  /** Explained scores of a batch, with the plain forward graph. */
  scoresOf(batch: Tensor): Promise<Tensor>;
  /** The value of an intermediate tensor of the model for a batch. */
  forwardTensor(batch: Tensor, name: string): Promise<Tensor>;
  /** The default Grad-CAM layer of the model. */
  defaultCamLayer(): string;
}

export interface MethodResult {
  /** Same shape as the input (grad-cam: [N, 1, h, w] at its layer). */
  attribution: Tensor;
  relevanceAt?: Record<string, Tensor>;
}

/** A one-pass method: one run of one compiled graph, optionally multiplied by the input afterwards. */
export interface OnePass {
  backward: BackwardKind;
  timesInput: boolean;
}

export interface MethodDeclaration<N extends string = string> {
  name: N;
  /** One line, for --help and the API. */
  description: string;
  params: readonly ParamSpec[];
  /** Takes an LRP composite (whose parameters are declared by the composite, src/composites/params.ts). */
  composite: boolean;
  /** One forward/backward pass rather than many runs (smoothgrad, integrated gradients, occlusion). */
  onePass: boolean;
  /** Runs on the user's device too (onnxruntime-web in the browser). */
  device: boolean;
  /** Explains models with token (integer) or several inputs, at their float inputs and token embeddings. */
  tokenInputs: boolean;
}

export interface MethodDefinition<N extends string = string> extends MethodDeclaration<N> {
  /** One-pass methods: which compiled graph, and whether to multiply by the input. Front ends with several inputs or on a device run these. */
  pass?: OnePass;
  explain(ctx: MethodContext): Promise<MethodResult>;
}

type MethodInput<N extends string> = Omit<MethodDeclaration<N>, 'onePass' | 'device' | 'tokenInputs' | 'composite'> &
  Partial<Pick<MethodDeclaration<N>, 'device' | 'tokenInputs' | 'composite'>> &
  ({ pass: OnePass; explain?: undefined } | { pass?: undefined; onePass?: boolean; explain(ctx: MethodContext): Promise<MethodResult> });

/** Runs a one-pass method through the context. */
async function runOnePass(pass: OnePass, ctx: MethodContext): Promise<MethodResult> {
  const r = await ctx.backward(ctx.input, ctx.targets, { method: pass.backward, composite: pass.backward === 'lrp' ? ctx.composite : undefined, relevanceAt: ctx.relevanceAt });
  const a = r.attribution;
  const attribution = pass.timesInput ? { data: a.data.map((g, i) => g * ctx.input.data[i]!), dims: a.dims } : a;
  return { attribution, relevanceAt: r.relevanceAt };
}

/**
 * Declares a method. A method with `pass` is one-pass by construction (its explain is derived from it); one that
 * brings its own `explain` is not, unless it says so.
 */
export function defineMethod<N extends string>(def: MethodInput<N>): MethodDefinition<N> {
  const names = new Set<string>();
  for (const p of def.params) {
    if (names.has(p.name)) throw new Error(`method ${def.name}: parameter '${p.name}' is declared twice`);
    names.add(p.name);
    if (typeof p.default === 'number' && ((p.min !== undefined && p.default < p.min) || (p.max !== undefined && p.default > p.max))) {
      throw new Error(`method ${def.name}: the default of '${p.name}' (${p.default}) is outside its range`);
    }
  }
  const pass = def.pass;
  return {
    name: def.name,
    description: def.description,
    params: def.params,
    composite: def.composite ?? false,
    onePass: pass ? true : def.onePass ?? false,
    device: def.device ?? false,
    tokenInputs: def.tokenInputs ?? false,
    ...(pass ? { pass } : {}),
    explain: pass ? (ctx) => runOnePass(pass, ctx) : def.explain!,
  };
}
