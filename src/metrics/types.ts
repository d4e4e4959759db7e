/**
 * The contract between evaluation metrics and whoever runs them (CLI, evaluation orchestration, meta-evaluation).
 *
 * Batch-first: every array holds a whole batch, sample-major (row-major [n, ...]). Metrics never touch ONNX
 * Runtime; they call the functions in the MetricContext, and they call them with MANY perturbed inputs per call
 * (chunked by `ctx.batchSize`), never once per perturbation, so one call can be one ORT run.
 */

/**
 * Class scores for a batch: `x` is [n, ...shape.slice(1)] flattened, the result is [n, classes] flattened
 * (logits; metrics apply a softmax themselves when their `softmax` parameter asks for it).
 */
export type ScoreFn = (x: Float32Array, shape: readonly number[]) => Promise<Float32Array>;

/** Attributions of `x` for one target class per sample; the result has the shape of `x`. */
export type ExplainFn = (x: Float32Array, shape: readonly number[], targets: Int32Array) => Promise<Float32Array>;

/**
 * A model that can be scored, explained and copied with re-initialised weights (randomisation metrics).
 * `layers` lists the parameterised layers (names of the nodes that own weights) in input → output order.
 * `randomised(layers, seed)` returns a handle on a copy of the model in which exactly those layers have fresh
 * random weights (Quantus re-initialises with the framework's default initialiser); the same seed gives the same
 * weights. src/weight-surgery/randomise-layers.ts implements the weight side on an ONNX ModelProto.
 */
export interface ModelHandle {
  readonly score: ScoreFn;
  readonly explain: ExplainFn;
  readonly layers: readonly string[];
  randomised(layers: readonly string[], seed: number): Promise<ModelHandle>;
  /**
   * Optional: a copy of the model whose first layer absorbs a constant input shift, f'(x + shift) = f(x)
   * (Kindermans et al.'s input-invariance test; `compensateInputShift` in weight-surgery/input-shift.ts builds it on
   * ONNX). Used by input-invariance with `compensate: true`.
   */
  withInputShift?(shift: number): Promise<ModelHandle>;
}

export interface MetricInput {
  /** Inputs, [n, ...] flattened. */
  x: Float32Array;
  /** Shape of x; shape[0] is the batch size n. */
  shape: readonly number[];
  /** Target class per sample (length n). */
  y: Int32Array;
  /** Attributions, same shape as x (explanations of y). */
  a: Float32Array;
  /** Binary masks (0/1), same shape as x: the ground-truth region, for localisation metrics. */
  s?: Float32Array;
}

export interface MetricContext {
  /** Needed by perturbation metrics (faithfulness, some robustness/axiomatic ones). */
  score?: ScoreFn;
  /** Needed by metrics that re-explain perturbed inputs (robustness, input-invariance, random-logit). */
  explain?: ExplainFn;
  /** Needed by model-randomisation metrics (mprt, smooth-mprt, efficient-mprt). */
  model?: ModelHandle;
  /** Most inputs one ScoreFn/ExplainFn call may take. Default 64. */
  batchSize?: number;
  /** Seed of every random choice a metric makes (noise, random subsets, random classes). Default 0. */
  seed?: number;
  /** Progress of the perturbation work: (done, total) in model evaluations. */
  onProgress?: (done: number, total: number) => void;
}

export interface MetricResult {
  /** One score per sample; NaN where the metric is undefined for that sample (see `reasons`). */
  scores: Float64Array;
  /** Why a score is NaN (null where it is not); absent when no score is NaN. */
  reasons?: (string | null)[];
  /** Per-sample curves for curve metrics (pixel-flipping, region-perturbation, selectivity, irof, road, mprt …). */
  curves?: Float64Array[];
}

export type ParamValue = number | string | boolean;
export type MetricParams = Record<string, ParamValue>;

export type MetricCategory = 'faithfulness' | 'robustness' | 'localisation' | 'complexity' | 'randomisation' | 'axiomatic';
export type ScoreDirection = 'higher' | 'lower';

/** What a metric needs besides x, y and a; runners check these before calling `evaluate`. */
export interface MetricNeeds {
  score?: boolean;
  explain?: boolean;
  model?: boolean;
  masks?: boolean;
}

export interface Metric {
  /** kebab-case, e.g. 'pixel-flipping'. */
  readonly name: string;
  readonly category: MetricCategory;
  /** Which way is better. */
  readonly direction: ScoreDirection;
  readonly needs: MetricNeeds;
  /** Every parameter the metric takes with its default (camelCase names; see README for each). */
  readonly defaults: Readonly<MetricParams>;
  /** One line for --help and the README. */
  readonly description: string;
  /**
   * Scores a batch. Unknown parameters and bad input throw typed errors (src/errors.ts); a sample for which the
   * metric is undefined gets NaN and a reason instead of failing the batch.
   */
  evaluate(input: MetricInput, ctx: MetricContext, params?: Partial<MetricParams>): Promise<MetricResult>;
}

/**
 * Pre-processing shared by all metrics, in Quantus' order: normalise, then abs.
 * normalise: 'batch' divides by max |a| over the whole batch (Quantus' normalise_by_max), 'negative' divides the
 * positive values by the batch maximum and the negative ones by |batch minimum| (Quantus' normalise_by_negative, the
 * default of its region perturbation), 'sample' by each sample's own max |a|, 'none' leaves a as is. `true` is the
 * metric's own normalisation (Quantus' normalise_func default), `false` is 'none'.
 */
export type NormaliseMode = 'batch' | 'negative' | 'sample' | 'none';
