import { InvalidArgumentError, InputDataError } from '../../errors.js';
import type { ExplainFn, MetricContext, ModelHandle, ScoreFn } from '../types.js';

export const DEFAULT_BATCH_SIZE = 64;

export function batchSizeOf(ctx: MetricContext): number {
  const b = ctx.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(b) || b < 1) throw new InvalidArgumentError('batchSize', `must be a positive integer, got ${b}`);
  return b;
}

export function requireScore(metric: string, ctx: MetricContext): ScoreFn {
  const f = ctx.score ?? ctx.model?.score;
  if (!f) throw new InvalidArgumentError('model', `metric '${metric}' needs the model's scores (a ScoreFn in the context)`, 'evaluate it with a model');
  return f;
}

export function requireExplain(metric: string, ctx: MetricContext): ExplainFn {
  const f = ctx.explain ?? ctx.model?.explain;
  if (!f) throw new InvalidArgumentError('explain', `metric '${metric}' re-explains inputs and needs an ExplainFn in the context`, 'evaluate it with a model and an explanation method');
  return f;
}

export function requireModel(metric: string, ctx: MetricContext): ModelHandle {
  if (!ctx.model) throw new InvalidArgumentError('model', `metric '${metric}' randomises the model's weights and needs a ModelHandle in the context`, 'evaluate it with an ONNX model');
  return ctx.model;
}

/** Class scores of many inputs, [count, classes] row-major. */
export interface ScoreRows {
  classes: number;
  data: Float32Array;
}

/** A row's score for class `cls`, through a softmax over the row when asked (Quantus' `softmax` option). */
export function rowScore(row: ArrayLike<number>, cls: number, softmax: boolean): number {
  const C = row.length;
  if (!(cls >= 0 && cls < C)) throw new InputDataError(`target class ${cls} is outside the model's ${C} class scores`, 'targets must index the model output');
  if (!softmax) return row[cls]!;
  let m = -Infinity;
  for (let c = 0; c < C; c++) m = Math.max(m, row[c]!);
  let z = 0;
  for (let c = 0; c < C; c++) z += Math.exp(row[c]! - m);
  return Math.exp(row[cls]! - m) / z;
}

/** Row `row`'s score for class `cls` (see rowScore). */
export function classScore(r: ScoreRows, row: number, cls: number, softmax: boolean): number {
  return rowScore(r.data.subarray(row * r.classes, (row + 1) * r.classes), cls, softmax);
}

export function argmaxRow(row: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < row.length; c++) if (row[c]! > row[best]!) best = c;
  return best;
}

/**
 * Scores `total` inputs that `fill(k, dst)` writes one at a time (k = 0, 1, … in order, so a metric can perturb
 * cumulatively), calling the ScoreFn once per `batchSize` inputs, and hands each row of class scores to
 * `consume(k, row)`. Checks that the ScoreFn returns class scores: the same positive number of finite values per
 * input on every call. Returns the number of classes.
 */
export async function scoreEach(metric: string, ctx: MetricContext, sampleShape: readonly number[], total: number, fill: (k: number, dst: Float32Array) => void, consume: (k: number, row: Float32Array) => void): Promise<number> {
  const score = requireScore(metric, ctx);
  const bs = batchSizeOf(ctx);
  const d = sampleShape.reduce((p, v) => p * v, 1);
  let classes = -1;
  const buf = new Float32Array(Math.min(bs, Math.max(total, 1)) * d);
  for (let start = 0; start < total; start += bs) {
    const m = Math.min(bs, total - start);
    const chunk = buf.subarray(0, m * d);
    for (let j = 0; j < m; j++) fill(start + j, chunk.subarray(j * d, (j + 1) * d));
    const out = await score(chunk, [m, ...sampleShape]);
    if (!(out instanceof Float32Array) || out.length === 0 || out.length % m !== 0) {
      throw new InputDataError(`the model's scores for ${m} inputs have ${out?.length} values, not [${m}, classes]`, 'the ScoreFn must return one row of class scores per input');
    }
    const C = out.length / m;
    if (classes < 0) classes = C;
    else if (C !== classes) throw new InputDataError(`the model returned ${C} class scores per input after ${classes} before`, 'the ScoreFn must return class scores of a fixed width');
    for (let i = 0; i < out.length; i++) {
      if (!Number.isFinite(out[i]!)) throw new InputDataError(`the model's score ${i % C} for perturbed input ${start + Math.floor(i / C)} is ${out[i]}`, 'the model produced non-finite scores');
    }
    for (let j = 0; j < m; j++) consume(start + j, out.subarray(j * C, (j + 1) * C));
    ctx.onProgress?.(start + m, total);
  }
  return Math.max(classes, 0);
}

/** Class scores of many inputs, [count, classes] row-major (for small counts; see scoreTargets for long runs). */
export async function scoreMany(metric: string, ctx: MetricContext, sampleShape: readonly number[], total: number, fill: (k: number, dst: Float32Array) => void): Promise<ScoreRows> {
  let data = new Float32Array(0);
  const classes = await scoreEach(metric, ctx, sampleShape, total, fill, (k, row) => {
    if (data.length === 0) data = new Float32Array(total * row.length);
    data.set(row, k * row.length);
  });
  return { classes, data };
}

/**
 * The score of one class per input for `total` inputs — `fill(k, dst)` writes input k and returns its class —
 * through a softmax when asked. What perturbation curves need, kept as one number per input so that long runs on
 * many-class models stay small in memory.
 */
export async function scoreTargets(metric: string, ctx: MetricContext, sampleShape: readonly number[], total: number, fill: (k: number, dst: Float32Array) => number, softmax: boolean): Promise<Float64Array> {
  const out = new Float64Array(total);
  const cls = new Int32Array(total);
  await scoreEach(metric, ctx, sampleShape, total, (k, dst) => {
    cls[k] = fill(k, dst);
  }, (k, row) => {
    out[k] = rowScore(row, cls[k]!, softmax);
  });
  return out;
}

/** The predicted (arg-max) class of each of `total` inputs. */
export async function predictMany(metric: string, ctx: MetricContext, sampleShape: readonly number[], total: number, fill: (k: number, dst: Float32Array) => void): Promise<Int32Array> {
  const out = new Int32Array(total);
  await scoreEach(metric, ctx, sampleShape, total, fill, (k, row) => {
    out[k] = argmaxRow(row);
  });
  return out;
}

/**
 * Explains `total` inputs (written by `fill(k, dst)`, which returns the target class of input k) in batches of
 * `batchSize`, handing each attribution to `consume(k, attribution)` so that only one batch is held at a time.
 */
export async function explainMany(
  metric: string,
  explain: ExplainFn,
  ctx: MetricContext,
  sampleShape: readonly number[],
  total: number,
  fill: (k: number, dst: Float32Array) => number,
  consume: (k: number, attribution: Float32Array) => void,
): Promise<void> {
  const bs = batchSizeOf(ctx);
  const d = sampleShape.reduce((p, v) => p * v, 1);
  const buf = new Float32Array(Math.min(bs, Math.max(total, 1)) * d);
  const targets = new Int32Array(Math.min(bs, Math.max(total, 1)));
  for (let start = 0; start < total; start += bs) {
    const m = Math.min(bs, total - start);
    const chunk = buf.subarray(0, m * d);
    for (let j = 0; j < m; j++) targets[j] = fill(start + j, chunk.subarray(j * d, (j + 1) * d));
    const out = await explain(chunk, [m, ...sampleShape], targets.subarray(0, m));
    if (!(out instanceof Float32Array) || out.length !== m * d) {
      throw new InputDataError(`the explanation of ${m} inputs has ${out?.length} values, expected ${m * d} (the input's shape)`, 'the ExplainFn must return attributions with the shape of its input');
    }
    for (let j = 0; j < m; j++) consume(start + j, out.subarray(j * d, (j + 1) * d));
    ctx.onProgress?.(start + m, total);
  }
}

/** The unperturbed class scores of every sample of a batch (one row per sample). */
export async function scoreSamples(metric: string, ctx: MetricContext, x: Float32Array, shape: readonly number[]): Promise<ScoreRows> {
  const d = x.length / shape[0]!;
  return scoreMany(metric, ctx, shape.slice(1), shape[0]!, (k, dst) => dst.set(x.subarray(k * d, (k + 1) * d)));
}
