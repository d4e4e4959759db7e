import type { ModelProto } from 'onnx-buf';
import { InvalidArgumentError } from '../errors.js';
import { size, type Tensor } from '../runtime/tensor.js';
import { Graph } from '../ir/graph.js';
import { ModelExplainer } from './explainer.js';
import { FEEDS_METHODS, MultiInputExplainer, type FeedsMethod } from './multi-input.js';
import { scoreRows, type ExplainSession } from './session.js';
import type { Region } from '../compiler/region.js';
import type { Feed } from '../runtime/feeds.js';
import type { Explanation, ExplainOptions } from './types.js';
import { resolveComposite } from '../composites/file.js';
import { checkMethodParams, checkWork } from './limits.js';
import { DEFAULT_COMPOSITE } from '../composites/index.js';
import { numericDefaults } from '../param-spec.js';
import { getMethod, METHODS, type MethodName } from './registry.js';
import { parseConditions } from './conditions.js';
import type { BackwardResult, MethodContext, MethodDefinition } from './define.js';

/** The numeric parameters of each method with their defaults (from the methods' declarations). */
export const METHOD_PARAMS = Object.fromEntries(METHODS.map((m) => [m.name, numericDefaults(m.params)])) as Readonly<Record<MethodName, Record<string, number>>>;

function methodParams(method: MethodDefinition, given: Record<string, number>): Record<string, number> {
  // lrp's parameters are its composite's, which checks them itself.
  if (method.composite) return { ...given };
  const defaults = numericDefaults(method.params);
  for (const k of Object.keys(given)) {
    if (!(k in defaults)) {
      throw new InvalidArgumentError('--param', `method '${method.name}' has no parameter '${k}'`, Object.keys(defaults).length ? `its parameters: ${Object.keys(defaults).join(', ')}` : 'it takes no parameters');
    }
  }
  return { ...defaults, ...given };
}

/**
 * Explains a batch of inputs with one method. `model` may be a path, ONNX bytes, a ModelProto or a prepared
 * ModelExplainer (reuse one for many calls: compiled graphs and sessions are cached in it).
 */
export async function explain(model: string | Uint8Array | ModelProto | ModelExplainer, input: Tensor, options: ExplainOptions = {}): Promise<Explanation> {
  const method = getMethod(options.method ?? 'lrp');
  const loaded = model instanceof ModelExplainer ? model : await ModelExplainer.load(model, { threads: options.threads });
  if (options.region) {
    // The explained score is the region's sum: the derived model's one output, class 0.
    const { region, output: _output, ...rest } = options;
    const target = rest.target === undefined || rest.target === 'pred' ? 0 : rest.target;
    return { ...(await explain(new ModelExplainer(loaded.session.forRegion(region, options.output)), input, { ...rest, target })), region };
  }
  const mx = loaded;
  mx.validate(input);
  const params = methodParams(method, options.params ?? {});
  // Invalid values are errors and every parameter has a maximum (src/methods/limits.ts): checked before any work.
  checkMethodParams(method.name, params, options.limits);
  checkWork(method.name, params, input.dims, options.limits);
  const t0 = performance.now();
  // The scores of the output being explained: targets, class counts and the seed's shape all come from them.
  const scores = await mx.scores(input, options.output);
  // A sequence output ([batch, positions, classes]) with a position: the class scores at that position are the
  // explained rows and 'pred' their arg-max; the methods, which index each sample's flattened scores, get the flat
  // index position·classes + class. Without a position the scores are explained flattened, as they are.
  const { rows, position } = options.position === undefined ? { rows: scores, position: undefined } : scoreRows(scores, options.position, mx.session.outputNameOf(options.output));
  const targets = mx.resolveTargets(options.target ?? 'pred', rows);
  const classes = size(rows.dims) / rows.dims[0]!;
  const flatTargets = position === undefined ? targets : targets.map((t) => position * classes + t);
  const timing = { compileMs: 0, sessionMs: 0 };
  // A composite may name a JSON file here (Node); the compiler itself takes names or objects only.
  const composite = method.composite ? resolveComposite(options.composite ?? DEFAULT_COMPOSITE, options.params) : undefined;
  const ctx: MethodContext = {
    input,
    scores,
    targets: flatTargets,
    params,
    composite,
    layer: options.layer,
    conditions: typeof options.conditions === 'string' ? parseConditions(options.conditions) : options.conditions,
    relevanceAt: options.relevanceAt,
    maxBatch: batchLimit(mx.inputShape, options.maxBatch),
    onProgress: options.onProgress,
    async backward(batch, batchTargets, o): Promise<BackwardResult> {
      const extra = o.relevanceAt ?? [];
      const c = await mx.compiled(
        o.method === 'lrp'
          ? { method: 'lrp', composite: o.composite, output: options.output, relevanceAt: o.relevanceAt }
          : { method: 'gradient', output: options.output, relevanceAt: extra.length ? extra : undefined },
      );
      timing.compileMs = c.compiled.compileMs;
      timing.sessionMs = c.sessionMs;
      const out = await mx.runCompiled(c, batch, batchTargets, scores.dims);
      const relevanceAt: Record<string, Tensor> = {};
      for (const [t, name] of Object.entries(c.compiled.relevanceAtNames)) relevanceAt[t] = out[name]!;
      return { attribution: out[c.compiled.attributionNames[mx.inputName]!]!, relevanceAt };
    },
    scoresOf: (batch) => mx.scores(batch, options.output),
    conditional: (batch, batchTargets, conditions, o = {}) =>
      mx.session.conditional({ [mx.inputName]: batch }, mx.seed(batchTargets, [batch.dims[0]!, ...scores.dims.slice(1)]), conditions, { composite, output: options.output, record: o.record }),
    forwardTensor: (batch, name) => mx.forwardTensor(batch, name),
    defaultCamLayer: () => defaultCamLayer(mx.model),
  };
  const result = await method.explain(ctx);
  return {
    method: method.name,
    composite: method.composite ? (typeof options.composite === 'object' ? options.composite.name : options.composite ?? DEFAULT_COMPOSITE) : undefined,
    attribution: result.attribution,
    scores: rows,
    targets,
    ...(position !== undefined ? { position } : {}),
    relevanceAt: result.relevanceAt ?? {},
    timing: { ...timing, runMs: performance.now() - t0 },
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
 * How many inputs one ORT run may take: `maxBatch` (default 32), but never more than a batch size the model fixes
 * in its declared input shape (exports with a static batch of 1 refuse anything else).
 */
export function batchLimit(inputShape: readonly (number | string | null)[] | undefined, maxBatch?: number): number {
  const fixed = typeof inputShape?.[0] === 'number' && inputShape[0] > 0 ? inputShape[0] : undefined;
  const wanted = Math.max(1, Math.floor(maxBatch ?? 32));
  return fixed !== undefined ? Math.min(fixed, wanted) : wanted;
}

export interface FeedsOptions extends Omit<ExplainOptions, 'method'> {
  method?: MethodName;
  /** Token models: the id input whose embedding gives per-token relevance (default: found from the graph). */
  tokenInput?: string;
  /** Explain through the multi-input face even for a model with one float input (feeds given by name). */
  multiInput?: boolean;
}

/** What explainFeeds returns, whichever face of the session explained. */
export interface FeedsResult {
  method: MethodName;
  composite?: string;
  /** The explained scores: rows [batch, classes] (at `position` for a sequence output); a model with one float input and no position: as the model returns them. */
  scores: Tensor;
  targets: number[];
  position?: number;
  /** Attribution of every float input (one entry for a single-input model). */
  attributions: Record<string, Tensor>;
  relevanceAt: Record<string, Tensor>;
  /** Token models: per-token relevance [batch, tokens] and the id input it belongs to. */
  tokenRelevance?: Tensor;
  tokenInput?: string;
  /** The region whose sum was explained, when one was given. */
  region?: Region;
  timing: { compileMs: number; sessionMs: number; runMs: number };
}

/**
 * Explains named feeds of one ExplainSession with any method: a model with one float input and nothing else (images,
 * vectors) runs every method of the registry through explain(); models with token ids or several inputs run the
 * registry's one-pass `tokenInputs` methods through the session's multi-input face. The CLI's `xsys explain` is this
 * one call per sample, whatever the model.
 */
export async function explainFeeds(base: ExplainSession, feeds: Readonly<Record<string, Feed | Tensor>>, given: FeedsOptions = {}): Promise<FeedsResult> {
  const method = getMethod(given.method ?? 'lrp');
  // A region: every method explains the region's sum, the derived model's one output (class 0).
  const session = given.region ? base.forRegion(given.region, given.output) : base;
  const { region: _region, ...options }: FeedsOptions = given.region ? { ...given, output: undefined, target: given.target === undefined || given.target === 'pred' ? 0 : given.target } : given;
  const single = !options.multiInput && session.floatInputs.length === 1 && session.inputs.length === 1;
  if (single) {
    const input = session.floatInputs[0]!;
    const x = feeds[input];
    if (!x) throw new InvalidArgumentError('--input', `input '${input}' is missing`);
    const e = await explain(new ModelExplainer(session), { data: x.data as Float32Array, dims: x.dims }, { ...options, method: method.name });
    return { method: e.method, composite: e.composite, scores: e.scores, targets: e.targets, ...(e.position !== undefined ? { position: e.position } : {}), attributions: { [input]: e.attribution }, relevanceAt: e.relevanceAt, timing: e.timing, ...(given.region ? { region: given.region } : {}) };
  }
  if (!method.tokenInputs) throw new InvalidArgumentError('--method', `method '${method.name}' is not available for text models`, `use one of: ${FEEDS_METHODS.join(', ')}`);
  const e = await new MultiInputExplainer(session).explain(feeds as Record<string, Feed>, {
    method: method.name as FeedsMethod,
    composite: options.composite,
    params: options.params,
    target: options.target,
    position: options.position,
    output: options.output,
    tokenInput: options.tokenInput,
  });
  return { ...e, relevanceAt: {}, ...(given.region ? { region: given.region } : {}) };
}
