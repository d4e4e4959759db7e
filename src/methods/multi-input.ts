import type { ModelProto } from 'onnx-buf';
import { cloneModel, parseModel } from '../onnx/model.js';
import { readModel } from '../onnx/file.js';
import { convertToFloat32 } from '../onnx/precision.js';
import type { CompileOptions } from '../compiler/compile.js';
import { CompiledSessionCache, ProbeSessionCache, type CompiledSession } from './compiled-cache.js';
import { findTokenEmbeddings, type TokenEmbedding } from '../compiler/sources.js';
import { resolveExplainedOutput } from '../canonicalize/index.js';
import type { Composite } from '../composites/index.js';
import { resolveComposite } from '../composites/file.js';
import { Graph } from '../ir/graph.js';
import { inferShapes } from '../ir/shapes.js';
import { InputDataError, InvalidArgumentError } from '../errors.js';
import { declaredInputs, runFeeds, validateFeed, type DeclaredInput, type Feed } from '../runtime/feeds.js';
import { size, type Tensor } from '../runtime/tensor.js';
import type { Target } from './types.js';

export type FeedsMethod = 'lrp' | 'gradient' | 'gradient-x-input';
export const FEEDS_METHODS: readonly FeedsMethod[] = ['lrp', 'gradient', 'gradient-x-input'];

export interface FeedsExplainOptions {
  method?: FeedsMethod;
  /** lrp: composite name, JSON file or object. Default attnlrp. */
  composite?: string | Composite;
  params?: Record<string, number>;
  /** Class (or next-token id) per sample, one for all, or 'pred'. */
  target?: Target;
  /**
   * Models whose scores have a token axis ([batch, tokens, vocab], generative LMs): the position whose next-token
   * score is explained. Negative counts from the end; default −1 (the last token).
   */
  position?: number;
  /** 'logit' (seed ⊙ scores) or 'direct' (the one-hot itself); default: what the composite's form implies. */
  seedMode?: 'logit' | 'direct';
  output?: string;
  /** Integer graph input whose embedding gives per-token relevance (default: found from the graph). */
  tokenInput?: string;
}

export interface FeedsExplanation {
  method: FeedsMethod;
  composite?: string;
  /** The explained scores per sample, [batch, classes] (for generative models: at `position`). */
  scores: Tensor;
  targets: number[];
  position?: number;
  /** Attribution of every float input (relevance for lrp; gradient or gradient × input otherwise). */
  attributions: Record<string, Tensor>;
  /** Per-token relevance [batch, tokens] and the input it belongs to, for token models. */
  tokenRelevance?: Tensor;
  tokenInput?: string;
  timing: { compileMs: number; sessionMs: number; runMs: number };
}

type Compiled = CompiledSession;

/**
 * A model with any number of named inputs (token ids, attention masks, token types, images) prepared for explaining.
 * It validates feeds against the model — names, dtypes, shapes, ids inside the vocabulary, sequence length — and
 * caches compiled explainers and sessions per method.
 */
export class MultiInputExplainer {
  /** Forward sessions per explained scores tensor (one per model output asked about). */
  private readonly probes: ProbeSessionCache;
  private readonly sessions: CompiledSessionCache;
  readonly inputs: DeclaredInput[];
  readonly scoresName: string;
  readonly embeddings: TokenEmbedding[];
  /** Longest sequence the model allows (static input dim or position-embedding table), if it can be told. */
  readonly maxSequence?: number;

  private constructor(
    readonly model: ModelProto,
    readonly threads?: number,
  ) {
    convertToFloat32(model);
    this.sessions = new CompiledSessionCache(model, threads);
    this.probes = new ProbeSessionCache(model, threads);
    const g = new Graph(cloneModel(model));
    this.inputs = declaredInputs(g.inputs);
    this.scoresName = resolveExplainedOutput(g).scores;
    const info = inferShapes(g);
    this.embeddings = findTokenEmbeddings(g, info);
    this.maxSequence = positionLimit(g, this.embeddings);
  }

  static async load(source: string | Uint8Array | ModelProto, options: { threads?: number } = {}): Promise<MultiInputExplainer> {
    const model = typeof source === 'string' ? await readModel(source) : source instanceof Uint8Array ? parseModel(source) : source;
    return new MultiInputExplainer(model, options.threads);
  }

  /** Rejects feeds that cannot be right, naming the input: unknown/missing names, dtypes, shapes, ids, lengths. */
  validate(feeds: Record<string, Feed>): void {
    const names = this.inputs.map((i) => i.name);
    for (const k of Object.keys(feeds)) {
      if (!names.includes(k)) throw new InvalidArgumentError('--input', `the model has no input named '${k}'`, `its inputs: ${names.join(', ')}`);
    }
    for (const want of this.inputs) {
      const f = feeds[want.name];
      if (!f) throw new InvalidArgumentError('--input', `input '${want.name}' (${want.dtype ?? 'unknown type'}) is missing`, `give every input: ${names.join(', ')}`);
      validateFeed(want.name, f, want);
    }
    let batch: { input: string; size: number } | undefined;
    for (const [k, axis] of batchAxes(this.inputs)) {
      const f = feeds[k]!;
      if (f.dims.length <= axis) continue;
      const n = f.dims[axis]!;
      if (!batch) batch = { input: k, size: n };
      else if (n !== batch.size) throw new InputDataError(`input '${k}' has batch size ${n} (axis ${axis}), but input '${batch.input}' has ${batch.size}`, 'give every batched input the same number of samples');
    }
    for (const e of this.embeddings) {
      const f = feeds[e.input]!;
      for (let i = 0; i < f.data.length; i++) {
        const v = Number(f.data[i]!);
        if (!Number.isInteger(v) || v < 0 || v >= e.vocabSize) {
          throw new InputDataError(`input '${e.input}': token id ${v} at flat index ${i} is outside the vocabulary (0–${e.vocabSize - 1}, the rows of embedding table '${e.node.input[0]}')`, 'tokenize with the tokenizer that belongs to this model');
        }
      }
      const len = f.dims[f.dims.length - 1]!;
      if (this.maxSequence !== undefined && len > this.maxSequence) {
        throw new InputDataError(`input '${e.input}': sequence of ${len} tokens is longer than the model allows (${this.maxSequence})`, 'truncate the text or split it into windows');
      }
    }
  }

  compiled(options: CompileOptions): Promise<Compiled> {
    return this.sessions.get(options);
  }

  /** The explained scores (logits before a terminal Softmax) of a model output (default: the first), with the plain forward graph. */
  async scores(feeds: Record<string, Feed>, output?: string): Promise<Tensor> {
    const name = output === undefined ? this.scoresName : resolveExplainedOutput(new Graph(cloneModel(this.model)), output).scores;
    return (await runFeeds(await this.probes.get(name), feeds, [name]))[name]!;
  }

  async explain(feeds: Record<string, Feed>, options: FeedsExplainOptions = {}): Promise<FeedsExplanation> {
    const method = options.method ?? 'lrp';
    if (!FEEDS_METHODS.includes(method)) throw new InvalidArgumentError('--method', `method '${method}' is not available for models with several or integer inputs`, `use one of: ${FEEDS_METHODS.join(', ')}`);
    this.validate(feeds);
    const t0 = performance.now();
    const full = await this.scores(feeds, options.output);
    const { rows, position } = scoreRows(full, options.position);
    const targets = resolveTargets(options.target ?? 'pred', rows);
    // Names, JSON files and objects alike: the compiler itself only knows named composites and objects.
    const composite = method === 'lrp' ? (typeof options.composite === 'object' ? options.composite : resolveComposite(options.composite ?? 'attnlrp', options.params)) : undefined;
    const c = await this.compiled({
      method: method === 'lrp' ? 'lrp' : 'gradient',
      composite,
      params: options.params,
      output: options.output,
      tokenInput: options.tokenInput,
      ...(options.seedMode ? { seedMode: options.seedMode } : {}),
    });
    const seed = new Float32Array(size(full.dims));
    const n = full.dims[0]!;
    const classes = rows.dims[1]!;
    const perSample = seed.length / n;
    targets.forEach((t, b) => (seed[b * perSample + (position ?? 0) * classes + t] = 1));
    const out = await runFeeds(c.session, { ...feeds, [c.compiled.seedName]: { data: seed, dims: [...full.dims] } });
    const attributions: Record<string, Tensor> = {};
    for (const [input, name] of Object.entries(c.compiled.attributionNames)) {
      const a = out[name]!;
      const x = feeds[input]!;
      attributions[input] = method === 'gradient-x-input' ? { data: a.data.map((v, i) => v * Number(x.data[i]!)), dims: a.dims } : a;
    }
    return {
      method,
      composite: typeof composite === 'object' ? composite.name : composite,
      scores: rows,
      targets,
      position,
      attributions,
      tokenRelevance: c.compiled.token ? out[c.compiled.token.relevanceName] : undefined,
      tokenInput: c.compiled.token?.input,
      timing: { compileMs: c.compiled.compileMs, sessionMs: c.sessionMs, runMs: performance.now() - t0 },
    };
  }
}

/**
 * The scores per sample: [batch, classes] as they are, or, with a token axis ([batch, tokens, vocab]), the row at
 * `position` (default: last).
 */
export function scoreRows(scores: Tensor, position?: number): { rows: Tensor; position?: number } {
  const [n, ...rest] = scores.dims as [number, ...number[]];
  if (rest.length <= 1) {
    if (position !== undefined) throw new InvalidArgumentError('--position', `the model's scores have shape [${scores.dims.join(', ')}], with no token axis to pick a position on`, 'drop --position for classifiers');
    return { rows: { data: scores.data, dims: [n, rest[0] ?? 1] } };
  }
  if (rest.length !== 2) throw new InvalidArgumentError('--output', `cannot explain scores of shape [${scores.dims.join(', ')}]`, 'explain an output of shape [batch, classes] or [batch, tokens, vocab]');
  const [tokens, vocab] = rest as [number, number];
  const p = position ?? -1;
  const pos = p < 0 ? tokens + p : p;
  if (!Number.isInteger(pos) || pos < 0 || pos >= tokens) throw new InvalidArgumentError('--position', `position ${p} is outside the sequence of ${tokens} tokens`);
  const data = new Float32Array(n * vocab);
  for (let b = 0; b < n; b++) data.set(scores.data.subarray((b * tokens + pos) * vocab, (b * tokens + pos + 1) * vocab), b * vocab);
  return { rows: { data, dims: [n, vocab] }, position: pos };
}

function resolveTargets(target: Target, rows: Tensor): number[] {
  const [n, classes] = rows.dims as [number, number];
  let list: number[];
  if (target === 'pred') {
    list = [];
    for (let b = 0; b < n; b++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (rows.data[b * classes + c]! > rows.data[b * classes + best]!) best = c;
      list.push(best);
    }
  } else list = Array.isArray(target) ? target : new Array<number>(n).fill(target);
  if (list.length !== n) throw new InvalidArgumentError('--target', `${list.length} targets given for a batch of ${n}`);
  for (const t of list) if (!Number.isInteger(t) || t < 0 || t >= classes) throw new InvalidArgumentError('--target', `${t} is out of range: the scores have ${classes} entries (0–${classes - 1})`);
  return list;
}

/**
 * The longest sequence: the static token dim of the id input, else the rows of a position-embedding table (a
 * constant 2-D table looked up with indices that are not a graph input).
 */
function positionLimit(g: Graph, embeddings: readonly TokenEmbedding[]): number | undefined {
  const tokenInputs = new Set(embeddings.map((e) => e.input));
  for (const i of declaredInputs(g.inputs)) {
    if (tokenInputs.has(i.name) && i.shape && typeof i.shape[i.shape.length - 1] === 'number') return i.shape[i.shape.length - 1] as number;
  }
  let limit: number | undefined;
  const embeddingNodes = new Set(embeddings.map((e) => e.node));
  for (const n of g.nodes) {
    if (n.opType !== 'Gather' || embeddingNodes.has(n)) continue;
    const table = g.constant(n.input[0]!);
    if (!table || table.dims.length !== 2 || !(table.data instanceof Float32Array) || g.isConstant(n.input[1]!)) continue;
    if (g.inputs.some((i) => i.name === n.input[1])) continue;
    limit = Math.min(limit ?? Infinity, table.dims[0]!);
  }
  return limit;
}

/**
 * The batch axis of each input that has one. Inputs share a batch only where the model says so: the axis carrying the
 * same symbolic dim as the first input whose axis 0 is symbolic (a recurrent state [layers, batch, hidden] has it on
 * axis 1). Without named dims, axis 0 where it is not fixed. Scalars (a sample rate) and inputs with a fixed leading
 * dim and no named batch dim have no batch axis.
 */
export function batchAxes(inputs: readonly DeclaredInput[]): Map<string, number> {
  const symbol = inputs.map((i) => i.shape?.[0]).find((d): d is string => typeof d === 'string');
  const out = new Map<string, number>();
  for (const i of inputs) {
    if (symbol !== undefined && i.shape) {
      const axis = i.shape.indexOf(symbol);
      if (axis >= 0) out.set(i.name, axis);
      continue;
    }
    if (!i.shape || (i.shape.length > 0 && typeof i.shape[0] !== 'number')) out.set(i.name, 0);
  }
  return out;
}
