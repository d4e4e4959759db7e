import type { ModelProto } from 'onnx-buf';
import { parseModel } from '../onnx/model.js';
import { readModel } from '../onnx/file.js';
import type { CompileOptions } from '../compiler/compile.js';
import type { TokenEmbedding } from '../compiler/sources.js';
import type { Composite } from '../composites/index.js';
import { resolveComposite } from '../composites/file.js';
import { InvalidArgumentError } from '../errors.js';
import type { DeclaredInput, Feed } from '../runtime/feeds.js';
import { nodeRuntime } from '../runtime/node.js';
import type { Tensor } from '../runtime/tensor.js';
import { getMethod, METHODS } from './registry.js';
import { ExplainSession, type CompileFn, type SessionCompiled, type Target } from './session.js';
import type { ExplainRuntime } from '../runtime/port.js';

/** The methods that explain models with token (integer) or several inputs: the registry's `tokenInputs` methods. */
export type FeedsMethod = 'lrp' | 'gradient' | 'gradient-x-input';
export const FEEDS_METHODS: readonly FeedsMethod[] = METHODS.filter((m) => m.tokenInputs).map((m) => m.name as FeedsMethod);

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

/**
 * A model with any number of named inputs (token ids, attention masks, token types, images) prepared for explaining:
 * the multi-input face of an ExplainSession. It validates feeds against the model — names, dtypes, shapes, ids inside
 * the vocabulary, sequence length — and runs the one-pass methods of the registry on them.
 */
export class MultiInputExplainer {
  readonly inputs: DeclaredInput[];
  readonly scoresName: string;
  readonly embeddings: TokenEmbedding[];
  /** Longest sequence the model allows (static input dim or position-embedding table), if it can be told. */
  readonly maxSequence?: number;

  constructor(readonly session: ExplainSession) {
    this.inputs = session.inputs;
    this.scoresName = session.scoresName;
    this.embeddings = session.embeddings;
    this.maxSequence = session.maxSequence;
  }

  get model(): ModelProto {
    return this.session.model;
  }

  /** `runtime`, `compile`: where ONNX Runtime runs and how explainers compile (defaults: this thread; the server passes its worker threads). */
  static async load(source: string | Uint8Array | ModelProto, options: { threads?: number; runtime?: ExplainRuntime; compile?: CompileFn } = {}): Promise<MultiInputExplainer> {
    const model = typeof source === 'string' ? await readModel(source) : source instanceof Uint8Array ? parseModel(source) : source;
    return new MultiInputExplainer(new ExplainSession(model, options.runtime ?? nodeRuntime(options.threads), { compile: options.compile }));
  }

  /** Rejects feeds that cannot be right, naming the input: unknown/missing names, dtypes, shapes, ids, lengths. */
  validate(feeds: Record<string, Feed>): void {
    this.session.validateFeeds(feeds);
  }

  compiled(options: CompileOptions): Promise<SessionCompiled> {
    return this.session.compiled(options);
  }

  /** The explained scores (logits before a terminal Softmax) of a model output (default: the first), with the plain forward graph. */
  scores(feeds: Record<string, Feed>, output?: string): Promise<Tensor> {
    return this.session.scores(feeds, output);
  }

  async explain(feeds: Record<string, Feed>, options: FeedsExplainOptions = {}): Promise<FeedsExplanation> {
    const method = options.method ?? 'lrp';
    if (!FEEDS_METHODS.includes(method)) throw new InvalidArgumentError('--method', `method '${method}' is not available for models with several or integer inputs`, `use one of: ${FEEDS_METHODS.join(', ')}`);
    this.validate(feeds);
    // Names, JSON files and objects alike: the compiler itself only knows named composites and objects.
    const composite = method === 'lrp' ? resolveComposite(options.composite ?? 'attnlrp', options.params) : undefined;
    const r = await this.session.onePass(feeds, getMethod(method).pass!, {
      composite,
      target: options.target,
      position: options.position,
      seedMode: options.seedMode,
      output: options.output,
      tokenInput: options.tokenInput,
    });
    return {
      method,
      composite: composite?.name,
      scores: r.scores,
      targets: r.targets,
      position: r.position,
      attributions: r.attributions,
      tokenRelevance: r.tokenRelevance,
      tokenInput: r.tokenInput,
      timing: r.timing,
    };
  }
}

export { batchAxes, scoreRows } from './session.js';
