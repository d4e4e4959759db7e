/**
 * The metrics' view of a model (ScoreFn, ExplainFn, ModelHandle) implemented on ONNX Runtime.
 *
 * Every ScoreFn call is chunked by `batchSize` and each chunk is ONE ORT run, however many perturbed inputs the
 * metric packed into the call. The time spent awaiting ORT is accumulated in an OrtTimer, so benchmarks can report
 * which fraction of a metric's wall time the runtime was busy.
 */
import type { ModelProto } from 'onnx-buf';
import { InputDataError, InvalidArgumentError } from '../errors.js';
import { ModelExplainer } from '../methods/explainer.js';
import { explain } from '../methods/explain.js';
import { readModel } from '../onnx/file.js';
import type { ExplainFn, ModelHandle, ScoreFn } from '../metrics/types.js';
import type { LabelledMethod } from './methods.js';
import { perturbWeights, type WeightNoise } from '../weight-surgery/perturb-weights.js';
import { parameterisedLayers, randomiseLayers } from '../weight-surgery/randomise-layers.js';
import { compensateInputShift } from '../weight-surgery/input-shift.js';

/** Wall time spent inside ORT runs (and how many runs). */
export class OrtTimer {
  ms = 0;
  runs = 0;
  async time<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.ms += performance.now() - t0;
      this.runs++;
    }
  }
}

export interface OrtModelOptions {
  /** Most inputs per ORT run. Default 64. */
  batchSize?: number;
  /** ORT intra-op threads (default: ORT's choice). */
  threads?: number;
  timer?: OrtTimer;
  explainTimer?: OrtTimer;
  setupTimer?: OrtTimer;
}

export class OrtModel {
  readonly batchSize: number;
  /** Time inside the ScoreFn's ORT runs (pure forward passes). */
  readonly timer: OrtTimer;
  /** Time inside explain() calls (compiled ORT runs plus the method's own JS work, e.g. SmoothGrad's noise). */
  readonly explainTimer: OrtTimer;
  /** Time spent compiling explainers and creating ORT sessions in warm(). */
  readonly setupTimer: OrtTimer;

  private constructor(
    readonly model: ModelProto,
    readonly explainer: ModelExplainer,
    private readonly options: OrtModelOptions,
  ) {
    this.batchSize = Math.max(1, Math.floor(options.batchSize ?? 64));
    this.timer = options.timer ?? new OrtTimer();
    this.explainTimer = options.explainTimer ?? new OrtTimer();
    this.setupTimer = options.setupTimer ?? new OrtTimer();
  }

  /**
   * Compiles the explainers of `specs` and creates their ORT sessions now (one explanation of a zero input of
   * `sampleShape` = [1, ...]), so that later explain() timings are runs, not compilation.
   */
  async warm(specs: readonly LabelledMethod[], sampleShape: readonly number[]): Promise<void> {
    const per = sampleShape.slice(1).reduce((a, b) => a * b, 1);
    await this.setupTimer.time(async () => {
      for (const spec of specs) {
        await explain(this.explainer, { data: new Float32Array(per), dims: [1, ...sampleShape.slice(1)] }, { method: spec.method, composite: spec.composite, params: spec.params, target: 0, maxBatch: this.batchSize });
      }
    });
  }

  static async load(source: string | ModelProto, options: OrtModelOptions = {}): Promise<OrtModel> {
    const model = typeof source === 'string' ? await readModel(source) : source;
    if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize >= 1)) {
      throw new InvalidArgumentError('--batch-size', `must be a positive integer, got ${options.batchSize}`);
    }
    return new OrtModel(model, await ModelExplainer.load(model, { threads: options.threads }), options);
  }

  /**
   * Wraps an explainer that is already loaded (a queue worker keeps one per model), so its compiled explainers and
   * sessions are shared by every evaluation of that model instead of being rebuilt for each.
   */
  static wrap(explainer: ModelExplainer, options: Omit<OrtModelOptions, 'threads'> = {}): OrtModel {
    if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize >= 1)) {
      throw new InvalidArgumentError('--batch-size', `must be a positive integer, got ${options.batchSize}`);
    }
    return new OrtModel(explainer.model, explainer, options);
  }

  /** Logits [n, classes] of a batch, in ORT runs of at most batchSize inputs. */
  readonly score: ScoreFn = async (x, shape) => {
    const n = shape[0]!;
    const per = x.length / n;
    if (!Number.isInteger(per) || x.length !== shape.reduce((a, b) => a * b, 1)) throw new InputDataError(`${x.length} values do not fill shape [${shape.join(', ')}]`);
    let out: Float32Array | undefined;
    let classes = 0;
    for (let start = 0; start < n; start += this.batchSize) {
      const m = Math.min(this.batchSize, n - start);
      const chunk = x.subarray(start * per, (start + m) * per);
      const t = await this.timer.time(() => this.explainer.scores({ data: chunk, dims: [m, ...shape.slice(1)] }));
      if (t.dims.length !== 2 || t.dims[0] !== m) {
        throw new InputDataError(`the model's output '${this.explainer.scoresName}' has shape [${t.dims.join(', ')}] for a batch of ${m}; evaluation needs class scores [batch, classes]`, 'metrics compare class scores; models with other outputs (segmentation maps, embeddings) are not supported');
      }
      if (!out) {
        classes = t.dims[1]!;
        out = new Float32Array(n * classes);
      }
      out.set(t.data, start * classes);
    }
    return out ?? new Float32Array(0);
  };

  /** Throws InputDataError when x cannot be the model's input (rank, static dims, NaN/Inf). */
  validate(x: Float32Array, shape: readonly number[]): void {
    this.explainer.validate({ data: x, dims: [...shape] });
  }

  /** Arg-max class per sample. */
  async predict(x: Float32Array, shape: readonly number[]): Promise<Int32Array> {
    const logits = await this.score(x, shape);
    const n = shape[0]!;
    const classes = logits.length / n;
    const out = new Int32Array(n);
    for (let s = 0; s < n; s++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (logits[s * classes + c]! > logits[s * classes + best]!) best = c;
      out[s] = best;
    }
    return out;
  }

  /** An ExplainFn for one method: attributions of the given targets, explained in chunks of batchSize. */
  explainFn(spec: LabelledMethod): ExplainFn {
    return async (x, shape, targets) => {
      const n = shape[0]!;
      const per = x.length / n;
      const out = new Float32Array(x.length);
      for (let start = 0; start < n; start += this.batchSize) {
        const m = Math.min(this.batchSize, n - start);
        const e = await this.explainTimer.time(() =>
          explain(this.explainer, { data: x.slice(start * per, (start + m) * per), dims: [m, ...shape.slice(1)] }, {
            method: spec.method,
            composite: spec.composite,
            params: spec.params,
            target: Array.from(targets.subarray(start, start + m)),
            maxBatch: this.batchSize,
          }),
        );
        if (e.attribution.data.length !== m * per) {
          throw new InvalidArgumentError('--methods', `'${spec.id}' gives attributions of shape [${e.attribution.dims.join(', ')}], the inputs are [${[m, ...shape.slice(1)].join(', ')}]`, 'metrics need input-shaped attributions; grad-cam explains a layer, use it on models whose layer matches the input or pick another method');
        }
        out.set(e.attribution.data, start * per);
      }
      return out;
    };
  }

  /** The metrics' ModelHandle for one explanation method. */
  handle(spec: LabelledMethod): ModelHandle {
    return {
      score: this.score,
      explain: this.explainFn(spec),
      layers: parameterisedLayers(this.model),
      randomised: async (layers, seed) => {
        const m = await OrtModel.load(randomiseLayers(this.model, layers, seed), { ...this.options, timer: this.timer, explainTimer: this.explainTimer, setupTimer: this.setupTimer });
        return m.handle(spec);
      },
      withInputShift: async (shift) => {
        const m = await OrtModel.load(compensateInputShift(this.model, shift), { ...this.options, timer: this.timer, explainTimer: this.explainTimer, setupTimer: this.setupTimer });
        return m.handle(spec);
      },
    };
  }

  /** A copy of this model with noisy parameters (MetaQuantus' model perturbation), sharing the timer. */
  async withWeightNoise(noise: WeightNoise): Promise<OrtModel> {
    // Drawing the noise and preparing the copy is set-up time too.
    return this.setupTimer.time(async () =>
      OrtModel.load(perturbWeights(this.model, noise).model, { ...this.options, timer: this.timer, explainTimer: this.explainTimer, setupTimer: this.setupTimer }),
    );
  }
}
