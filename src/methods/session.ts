/**
 * One model prepared for explaining, whatever the front end (CLI, library, server, evaluation, conformance, browser):
 * the model's declared inputs (a single float input is one feed among several), the explained scores, token
 * embeddings, the forward "probe" sessions and the compiled explainers with their sessions (created on first use and
 * cached), target resolution, one-hot seeds and one-pass runs. The runtime is a port (runtime/port.ts): Node and the
 * browser each bring a small adapter. Browser-clean: nothing here reaches Node-only code.
 */
import type { GraphProto, ModelProto } from 'onnx-buf';
import { resolveExplainedOutput } from '../canonicalize/index.js';
import { compileExplainer, type CompiledGraph, type CompileOptions } from '../compiler/compile.js';
import { compileCrp, type CompiledCrp, type CrpCompileOptions } from '../compiler/crp.js';
import { regionModel, type Region } from '../compiler/region.js';
import type { Specialization } from '../compiler/plan.js';
import { findTokenEmbeddings, type TokenEmbedding } from '../compiler/sources.js';
import type { Composite } from '../composites/index.js';
import { InputDataError, InvalidArgumentError } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { inferShapes } from '../ops/shapes.js';
import { cloneModel } from '../onnx/model.js';
import { convertToFloat32 } from '../onnx/precision.js';
import { declaredInputs, validateFeed, type DeclaredInput, type Feed } from '../runtime/feeds.js';
import type { ExplainRuntime, RuntimeSession } from '../runtime/port.js';
import { argmaxRows, size, type Tensor } from '../runtime/tensor.js';
import type { OnePass } from './define.js';
import { validateChannels, type Condition, type ConditionalItem } from './conditions.js';

/** What to explain: a class index per sample, one index for all, or 'pred' (the arg-max of the scores). */
export type Target = number | number[] | 'pred';

/** Compiles an explainer; by default here, synchronously (the server passes one that runs in a worker thread). */
export type CompileFn = (model: ModelProto, options: CompileOptions) => Promise<CompiledGraph>;

/** Compiles a CRP graph; by default here (the server passes one that runs in a worker thread). */
export type CrpCompileFn = (model: ModelProto, options: CrpCompileOptions) => Promise<CompiledCrp>;

export interface SessionCompiled<S = RuntimeSession, C = CompiledGraph> {
  compiled: C;
  session: S;
  sessionMs: number;
}

/**
 * Compiled graphs of one model (explainers, CRP graphs) with their sessions, created on first use per set of compile
 * options. A failed compile is forgotten, so a later call with the same options reports its error again instead of a
 * stale rejection.
 */
export class CompiledCache<S, O = CompileOptions, C extends { model: ModelProto } = CompiledGraph> {
  private readonly entries = new Map<string, Promise<SessionCompiled<S, C>>>();
  constructor(
    private readonly model: ModelProto,
    private readonly create: (model: ModelProto, compiledGraph: boolean) => Promise<S>,
    private readonly compile: (model: ModelProto, options: O) => Promise<C>,
  ) {}

  get(options: O): Promise<SessionCompiled<S, C>> {
    const key = JSON.stringify(options);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = (async () => {
        const compiled = await this.compile(this.model, options);
        const t0 = performance.now();
        const session = await this.create(compiled.model, true);
        return { compiled, session, sessionMs: performance.now() - t0 };
      })();
      this.entries.set(key, entry);
      entry.catch(() => this.entries.delete(key));
    }
    return entry;
  }
}

/**
 * Sessions of the plain model that also return one of its tensors (an explained scores tensor, a Grad-CAM layer),
 * created on first use per tensor. `check` may reject the tensor on the model's graph before a session is made. A
 * failed session is forgotten, as above.
 */
export class ProbeCache<S> {
  private readonly entries = new Map<string, Promise<S>>();
  constructor(
    private readonly model: ModelProto,
    private readonly create: (model: ModelProto, compiledGraph: boolean) => Promise<S>,
  ) {}

  get(tensor: string, check?: (g: Graph) => void): Promise<S> {
    let entry = this.entries.get(tensor);
    if (!entry) {
      const m = cloneModel(this.model);
      const g = new Graph(m);
      check?.(g);
      if (!g.isGraphOutput(tensor)) g.addOutput(tensor);
      entry = this.create(m, false);
      this.entries.set(tensor, entry);
      entry.catch(() => this.entries.delete(tensor));
    }
    return entry;
  }
}

export interface OnePassOptions {
  /** lrp: the composite, resolved by the caller (Node callers may read JSON files; the session cannot). */
  composite?: Composite;
  target?: Target;
  /** Scores with a sequence axis ([batch, positions, classes]): the position whose score is explained (default: last). */
  position?: number;
  seedMode?: 'logit' | 'direct';
  output?: string;
  tokenInput?: string;
  relevanceAt?: string[];
  /** How targets are named in errors ('--target' on the command line, 'target' in the browser). */
  targetArg?: string;
}

export interface OnePassResult {
  /** The explained scores per sample, [batch, classes] (with a token axis: at `position`). */
  scores: Tensor;
  /** The scores as the model returns them. */
  fullScores: Tensor;
  targets: number[];
  position?: number;
  /** Attribution of every float input (× the input for gradient × input). */
  attributions: Record<string, Tensor>;
  relevanceAt: Record<string, Tensor>;
  tokenRelevance?: Tensor;
  tokenInput?: string;
  compiled: CompiledGraph;
  timing: { compileMs: number; sessionMs: number; runMs: number };
}

export interface ConditionalOptions extends Pick<CrpCompileOptions, 'composite' | 'params' | 'record' | 'output'> {
  /** Test hook and server use: run with this compiled CRP graph instead of looking one up. */
  compiled?: SessionCompiled<RuntimeSession, CompiledCrp>;
}

export class ExplainSession {
  readonly inputs: DeclaredInput[];
  /** Float32 graph inputs (attributions are computed for each). */
  readonly floatInputs: string[];
  /** The explained scores of the first output (the logits before a terminal Softmax). */
  readonly scoresName: string;
  readonly embeddings: TokenEmbedding[];
  /** Longest sequence the model allows (static input dim or position-embedding table), if it can be told. */
  readonly maxSequence?: number;
  private readonly probes: ProbeCache<RuntimeSession>;
  private readonly compiledCache: CompiledCache<RuntimeSession>;
  private readonly crpCache: CompiledCache<RuntimeSession, CrpCompileOptions, CompiledCrp>;
  private readonly scoresOf = new Map<string, string>();
  /**
   * Models with control flow or recurrent layers are compiled for the shapes (and small integer values) of the
   * inputs at hand: Ifs on shapes or on a sample rate are then decided and time axes unrolled (one compiled graph per
   * distinct specialisation, cached). Other models keep one graph for every shape.
   */
  private readonly specializes: boolean;

  private readonly regions = new Map<string, ExplainSession>();

  constructor(
    readonly model: ModelProto,
    readonly runtime: ExplainRuntime,
    private readonly options: { compile?: CompileFn; compileCrp?: CrpCompileFn } = {},
  ) {
    // A ModelProto handed in directly may still be in half precision: probes, compiled graphs and inputs use float32.
    convertToFloat32(model);
    const create = (m: ModelProto, compiledGraph: boolean) => runtime.createSession(m, { compiledGraph });
    this.probes = new ProbeCache(model, create);
    this.compiledCache = new CompiledCache(model, create, options.compile ?? (async (m, o) => compileExplainer(m, o)));
    this.crpCache = new CompiledCache(model, create, options.compileCrp ?? (async (m, o) => compileCrp(m, o)));
    const g = new Graph(cloneModel(model));
    this.inputs = declaredInputs(g.inputs);
    this.floatInputs = this.inputs.filter((i) => i.elemType === 1).map((i) => i.name);
    this.scoresName = resolveExplainedOutput(g).scores;
    this.embeddings = this.inputs.some((i) => i.elemType !== 1) ? findTokenEmbeddings(g, inferShapes(g)) : [];
    this.maxSequence = this.embeddings.length ? positionLimit(g, this.embeddings) : undefined;
    this.specializes = hasControlFlowOrRecurrence(g.proto);
  }

  /** The name of the explained model output (default: the first), as errors name it. */
  outputNameOf(output?: string): string {
    return output ?? this.model.graph?.output[0]?.name ?? 'output';
  }

  /** The tensor explained for a model output (default: the first): the logits before a terminal Softmax, else the output. */
  scoresNameOf(output?: string): string {
    if (output === undefined) return this.scoresName;
    let name = this.scoresOf.get(output);
    if (!name) {
      name = resolveExplainedOutput(new Graph(cloneModel(this.model)), output).scores;
      this.scoresOf.set(output, name);
    }
    return name;
  }

  /** Rejects feeds that cannot be right, naming the input: unknown/missing names, dtypes, shapes, ids, lengths. */
  validateFeeds(feeds: Readonly<Record<string, Feed>>): void {
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

  /** The compiled explainer for these options, with its session (cached). */
  compiled(options: CompileOptions): Promise<SessionCompiled> {
    const routing = this.runtime.maxPoolRouting;
    return this.compiledCache.get(routing && options.maxPoolRouting === undefined ? { ...options, maxPoolRouting: routing } : options);
  }

  /**
   * The session of the model whose one output is the sum of an output map over a region ([N, 1], class 0): maps as
   * outputs (segmentation, detection; compiler/region.ts). Same runtime and compilers; cached per region (the last 8).
   */
  forRegion(region: Region, output?: string): ExplainSession {
    const key = JSON.stringify([region.channel ?? null, region.box ?? null, output ?? null]);
    let s = this.regions.get(key);
    if (!s) {
      s = new ExplainSession(regionModel(this.model, region, output), this.runtime, this.options);
      this.regions.set(key, s);
      while (this.regions.size > 8) this.regions.delete(this.regions.keys().next().value!);
    }
    return s;
  }

  /** The compiled CRP graph conditioning these tensors, with its session (cached). */
  compiledCrp(options: CrpCompileOptions): Promise<SessionCompiled<RuntimeSession, CompiledCrp>> {
    return this.crpCache.get({ ...options, conditioned: [...options.conditioned], ...(options.record?.length ? { record: [...options.record] } : { record: undefined }) });
  }

  /**
   * The conditional-relevance hook (CRP, zennit-crp's exclude_parallel): relevance of the feeds' batch (B rows,
   * seeded with `seed`, shaped like the scores) restricted to each condition's channels. All conditions condition
   * the same tensors; they are evaluated in one run — the forward pass once, the backward pass batched over them.
   */
  async conditional(feeds: Readonly<Record<string, Feed | Tensor>>, seed: Tensor, conditions: readonly Condition[], options: ConditionalOptions = {}): Promise<ConditionalItem[]> {
    if (conditions.length === 0) throw new InvalidArgumentError('conditions', 'no conditions given');
    const tensors = conditions[0]!.map((l) => l.tensor);
    conditions.forEach((c, i) => {
      if (c.length === 0) throw new InvalidArgumentError('conditions', `condition ${i} conditions no layer`);
      if (JSON.stringify(c.map((l) => l.tensor)) !== JSON.stringify(tensors)) throw new InvalidArgumentError('conditions', `condition ${i} conditions other tensors than condition 0`, 'evaluate conditions over different layers in separate runs');
    });
    const { compiled, session } = options.compiled ?? (await this.compiledCrp({ conditioned: tensors, record: options.record, composite: options.composite, params: options.params, output: options.output }));
    conditions.forEach((c, i) => validateChannels(c, compiled.channelsOf, i));
    const K = conditions.length;
    const B = seed.dims[0]!;
    const run: Record<string, Feed | Tensor> = { ...feeds, [compiled.seedName]: seed };
    compiled.masks.forEach((m, j) => {
      const data = new Float32Array(K * m.channels);
      conditions.forEach((c, k) => {
        for (const ch of c[j]!.channels) data[k * m.channels + ch] = 1;
      });
      run[m.input] = { data, dims: [K, m.channels] };
    });
    const out = await session.run(run);
    const hm = out[compiled.heatmapName]!;
    const per = size(hm.dims) / K;
    // Rows are condition-major: row k·B + b is condition k of sample b.
    return conditions.map((condition, k) => {
      const channelRelevance: Record<string, Float32Array> = {};
      compiled.masks.forEach((m, j) => {
        const t = out[compiled.channelRelevance[m.tensor]!]!;
        // The highest tensor's relevance comes before any mask: B rows, shared by all conditions.
        const row = j === 0 ? 0 : k * B;
        channelRelevance[m.tensor] = t.data.slice(row * m.channels, (row + B) * m.channels);
      });
      const recordRelevance: Record<string, Float32Array> = {};
      for (const [t, name] of Object.entries(compiled.recordRelevance)) {
        const c = compiled.channelsOf[t]!;
        recordRelevance[t] = out[name]!.data.slice(k * B * c, (k + 1) * B * c);
      }
      return { condition, heatmap: { data: hm.data.slice(k * per, (k + 1) * per), dims: [B, ...hm.dims.slice(1)] }, channelRelevance, recordRelevance };
    });
  }

  /** Explained scores of a model output (default: the first) for a batch, with the plain forward graph. */
  async scores(feeds: Readonly<Record<string, Feed | Tensor>>, output?: string): Promise<Tensor> {
    const name = this.scoresNameOf(output);
    return (await (await this.probes.get(name)).run(feeds, [name]))[name]!;
  }

  /** The value of an intermediate tensor for a batch (a feed is returned as it is). */
  async forwardTensor(feeds: Readonly<Record<string, Feed | Tensor>>, name: string): Promise<Tensor> {
    const fed = feeds[name];
    if (fed && fed.data instanceof Float32Array) return { data: fed.data, dims: fed.dims };
    const session = this.probes.get(name, (g) => {
      if (!g.producer(name)) throw new InvalidArgumentError('--layer', `no tensor named '${name}' in the model`, 'see `xsys inspect` for tensor names');
    });
    return (await (await session).run(feeds, [name]))[name]!;
  }

  /** Targets against per-sample score rows [n, classes]: 'pred' → arg-max; numbers are range-checked. */
  resolveTargets(target: Target, rows: Tensor, arg = '--target'): number[] {
    const n = rows.dims[0]!;
    const classes = size(rows.dims) / n;
    const list = target === 'pred' ? argmaxRows(rows.data, n) : Array.isArray(target) ? target : new Array<number>(n).fill(target);
    if (list.length !== n) throw new InvalidArgumentError(arg, `${list.length} targets given for a batch of ${n}`);
    for (const t of list) {
      if (!Number.isInteger(t) || t < 0 || t >= classes) throw new InvalidArgumentError(arg, `class ${t} is out of range: the model has ${classes} classes (0–${classes - 1})`);
    }
    return list;
  }

  /** One-hot seed with the scores' dims; with a token axis, at `position` of each sample. */
  seed(targets: readonly number[], scoresDims: readonly number[], position?: number, classes?: number): Tensor {
    const n = scoresDims[0]!;
    const data = new Float32Array(size(scoresDims));
    const perSample = data.length / n;
    const c = classes ?? perSample;
    targets.forEach((t, b) => (data[b * perSample + (position ?? 0) * c + t] = 1));
    return { data, dims: [...scoresDims] };
  }

  /** Runs a compiled explainer on feeds with the given targets (seed shaped like the scores, batch of the feeds). */
  runCompiled(c: SessionCompiled, feeds: Readonly<Record<string, Feed | Tensor>>, seed: Tensor): Promise<Record<string, Tensor>> {
    return c.session.run({ ...feeds, [c.compiled.seedName]: seed });
  }

  /**
   * A one-pass method (lrp, gradient, gradient × input) on feeds: scores, targets (at `position` for token-axis
   * scores), the seed, one run of the compiled explainer, the attribution of every float input.
   */
  async onePass(feeds: Readonly<Record<string, Feed | Tensor>>, pass: OnePass, options: OnePassOptions = {}): Promise<OnePassResult> {
    const t0 = performance.now();
    const full = await this.scores(feeds, options.output);
    const { rows, position } = scoreRows(full, options.position, this.outputNameOf(options.output));
    const targets = this.resolveTargets(options.target ?? 'pred', rows, options.targetArg);
    const c = await this.compiled({
      method: pass.backward,
      ...(pass.backward === 'lrp' ? { composite: options.composite } : {}),
      output: options.output,
      ...(options.tokenInput !== undefined ? { tokenInput: options.tokenInput } : {}),
      ...(options.relevanceAt?.length ? { relevanceAt: options.relevanceAt } : {}),
      ...(options.seedMode ? { seedMode: options.seedMode } : {}),
      ...(this.specializes ? { specialize: specializationOf(feeds) } : {}),
    });
    const out = await this.runCompiled(c, feeds, this.seed(targets, full.dims, position, rows.dims[1]));
    const attributions: Record<string, Tensor> = {};
    for (const [input, name] of Object.entries(c.compiled.attributionNames)) {
      const a = out[name]!;
      const x = feeds[input]!;
      attributions[input] = pass.timesInput ? { data: a.data.map((v, i) => v * Number(x.data[i]!)), dims: a.dims } : a;
    }
    const relevanceAt: Record<string, Tensor> = {};
    for (const [t, name] of Object.entries(c.compiled.relevanceAtNames)) relevanceAt[t] = out[name]!;
    return {
      scores: rows,
      fullScores: full,
      targets,
      position,
      attributions,
      relevanceAt,
      tokenRelevance: c.compiled.token ? out[c.compiled.token.relevanceName] : undefined,
      tokenInput: c.compiled.token?.input,
      compiled: c.compiled,
      timing: { compileMs: c.compiled.compileMs, sessionMs: c.sessionMs, runMs: performance.now() - t0 },
    };
  }
}

const SPECIALIZED_OPS = new Set(['If', 'Loop', 'Scan', 'LSTM', 'GRU', 'RNN']);

function hasControlFlowOrRecurrence(g: GraphProto): boolean {
  return g.node.some((n) => SPECIALIZED_OPS.has(n.opType) || n.attribute.some((a) => (a.g && hasControlFlowOrRecurrence(a.g)) || a.graphs.some(hasControlFlowOrRecurrence)));
}

/** The shapes of all feeds and the values of integer feeds of at most 16 elements (a sample rate, a flag). */
export function specializationOf(feeds: Readonly<Record<string, Feed | Tensor>>): Specialization {
  const shapes: Record<string, number[]> = {};
  const values: Record<string, number[]> = {};
  for (const [name, f] of Object.entries(feeds)) {
    shapes[name] = [...f.dims];
    if ((f.data instanceof BigInt64Array || f.data instanceof Int32Array) && f.data.length <= 16) values[name] = Array.from(f.data as ArrayLike<number | bigint>, Number);
  }
  return { shapes, values };
}

/**
 * The scores per sample: [batch, classes] as they are, or, with a sequence axis ([batch, positions, classes]: the
 * next-token scores of a generative model, the per-position class scores of a CTC recogniser), the row at `position`
 * (default: last; negative counts from the end). `output` names the model output in errors.
 */
export function scoreRows(scores: Tensor, position?: number, output?: string): { rows: Tensor; position?: number } {
  const [n, ...rest] = scores.dims as [number, ...number[]];
  const of = output === undefined ? "the model's scores" : `output '${output}'`;
  if (rest.length <= 1) {
    if (position !== undefined) throw new InvalidArgumentError('--position', `${of} has shape [${scores.dims.join(', ')}], with no sequence axis to pick a position on`, 'drop --position for classifiers');
    return { rows: { data: scores.data, dims: [n, rest[0] ?? 1] } };
  }
  if (rest.length !== 2) throw new InvalidArgumentError('--output', `cannot explain scores of shape [${scores.dims.join(', ')}]`, 'explain an output of shape [batch, classes] or [batch, positions, classes]');
  const [tokens, vocab] = rest as [number, number];
  const p = position ?? -1;
  const pos = p < 0 ? tokens + p : p;
  if (!Number.isInteger(pos) || pos < 0 || pos >= tokens) {
    throw new InvalidArgumentError('--position', `position ${p} is outside the sequence of ${tokens} positions of ${of} (shape [${scores.dims.join(', ')}])`, `give 0 … ${tokens - 1}, or −1 … −${tokens} to count from the end`);
  }
  const data = new Float32Array(n * vocab);
  for (let b = 0; b < n; b++) data.set(scores.data.subarray((b * tokens + pos) * vocab, (b * tokens + pos + 1) * vocab), b * vocab);
  return { rows: { data, dims: [n, vocab] }, position: pos };
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
