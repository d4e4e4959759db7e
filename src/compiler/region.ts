/**
 * Maps as outputs (L-CRP, Achtibat et al. 2024): for segmentation and detection models the explained score is the
 * sum of an output over a region — one class's mask over the map, a box, or both. regionModel appends that sum to the
 * model as its one output, [N, 1] (class 0), so every method (LRP, gradients, SmoothGrad, occlusion, Grad-CAM) and
 * CRP explain it unchanged: relevance seeded at the region score flows back through ReduceSum and Slice to exactly
 * the output values inside the region (logit seeding: each keeps its own value), and nothing outside it.
 * Browser-clean.
 */
import type { ModelProto } from 'onnx-buf';
import { resolveExplainedOutput } from '../canonicalize/index.js';
import { InvalidArgumentError } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { cloneModel } from '../onnx/model.js';
import { makeNode } from '../onnx/attributes.js';
import { int64Tensor } from '../onnx/tensor.js';
import { inferShapes } from '../ops/shapes.js';

/** The region of an output map whose sum is explained. */
export interface Region {
  /** The channel (class) on axis 1 of the output; absent: every channel. */
  channel?: number;
  /**
   * A half-open box on the last two axes, [y0, x0, y1, x1] (rows y0 … y1−1, columns x0 … x1−1), or on the last axis
   * [x0, x1]; absent: the whole map.
   */
  box?: readonly number[];
}

/** The name of the region score output. */
export const REGION_SCORE = 'xsys_region_score';

/** The written form: `channel`, `@y0,x0,y1,x1` or `channel@y0,x0,y1,x1` (a box on the last axis: `@x0,x1`). */
export const REGION_SYNTAX = 'channel, @y0,x0,y1,x1 or channel@y0,x0,y1,x1 (box half-open, on the last two axes)';

/** Parses `3`, `@0,0,8,8` or `3@0,0,8,8` into a region; `arg` names the flag or parameter in errors. */
export function parseRegion(text: string, arg = '--region'): Region {
  const m = /^\s*(\d+)?\s*(?:@\s*([-\d,\s]+))?\s*$/.exec(text);
  if (!m || (m[1] === undefined && m[2] === undefined)) throw new InvalidArgumentError(arg, `'${text}' is not a region`, `write ${REGION_SYNTAX}`);
  const region: Region = { ...(m[1] !== undefined ? { channel: Number(m[1]) } : {}), ...(m[2] !== undefined ? { box: m[2].split(',').map((v) => Number(v.trim())) } : {}) };
  checkRegion(region, arg);
  return region;
}

/** The written form of a region (the inverse of parseRegion). */
export function formatRegion(r: Region): string {
  return `${r.channel ?? ''}${r.box ? `@${r.box.join(',')}` : ''}`;
}

/** Whole numbers, a box of 2 or 4 with start < end; `dims` (the output's, where known) bounds them. */
export function checkRegion(r: Region, arg = 'region', dims?: readonly (number | string | undefined)[]): void {
  if (r.channel === undefined && r.box === undefined) throw new InvalidArgumentError(arg, 'an empty region: give a channel, a box or both', `write ${REGION_SYNTAX}`);
  if (r.channel !== undefined && (!Number.isInteger(r.channel) || r.channel < 0)) throw new InvalidArgumentError(arg, `channel ${r.channel} is not a channel index`, 'channels are whole numbers from 0');
  if (r.box !== undefined) {
    if (r.box.length !== 4 && r.box.length !== 2) throw new InvalidArgumentError(arg, `a box has 4 numbers (y0, x0, y1, x1) or 2 (x0, x1), not ${r.box.length}`);
    if (r.box.some((v) => !Number.isInteger(v) || v < 0)) throw new InvalidArgumentError(arg, `box [${r.box.join(', ')}] must be whole numbers ≥ 0`);
    const half = r.box.length / 2;
    for (let i = 0; i < half; i++) if (r.box[i]! >= r.box[i + half]!) throw new InvalidArgumentError(arg, `box [${r.box.join(', ')}] is empty: each start must be below its end (half-open)`);
  }
  if (!dims) return;
  const rank = dims.length;
  const need = 1 + (r.channel !== undefined ? 1 : 0) + (r.box ? r.box.length / 2 : 0);
  if (rank < Math.max(2, need) || (r.channel !== undefined && r.box?.length === 4 && rank < 4)) {
    throw new InvalidArgumentError(arg, `the output has rank ${rank} ([${dims.join(', ')}]): too few axes for this region`, 'a channel is axis 1, a box the last two axes (one axis for 2 numbers)');
  }
  const c = dims[1];
  if (r.channel !== undefined && typeof c === 'number' && r.channel >= c) throw new InvalidArgumentError(arg, `channel ${r.channel} is out of range: the output has ${c} channels (0–${c - 1})`);
  if (r.box) {
    const half = r.box.length / 2;
    for (let i = 0; i < half; i++) {
      const d = dims[rank - half + i];
      if (typeof d === 'number' && r.box[i + half]! > d) throw new InvalidArgumentError(arg, `box [${r.box.join(', ')}] reaches past the output map (axis ${rank - half + i} has ${d})`);
    }
  }
}

/**
 * A copy of the model whose only output is the region's sum of the explained output (default: the first; the logits
 * before a terminal Softmax or Sigmoid), [N, 1]. `outputDims`: the output's dims where known (from a run), to check the region
 * against them when the model's shapes are symbolic.
 */
export function regionModel(model: ModelProto, region: Region, output?: string, outputDims?: readonly number[]): ModelProto {
  const m = cloneModel(model);
  const g = new Graph(m);
  let { scores } = resolveExplainedOutput(g, output);
  const shapes = inferShapes(g);
  // A probability map (a terminal Sigmoid: text detectors, binary masks) is explained at its logits, as a terminal
  // Softmax is: saturated probabilities (≈ 0 on background) would leave every method almost nothing to propagate.
  // Half-precision exports keep float32 outputs with a Cast after the Sigmoid (onnxconverter-common's keep_io_types):
  // looked through, so that the fp16 and float32 versions of a model explain the same logits.
  const last = g.producer(scores);
  const cast = last?.opType === 'Cast' && g.consumers(last.input[0]!).length === 1 ? last : undefined;
  const sigmoid = cast ? g.producer(cast.input[0]!) : last;
  // (Sigmoid keeps the shape: where inference lost the logits' shape, the output's declared one is theirs.)
  const declaredOut = g.outputs.find((o) => o.name === scores);
  let known = shapes.get(scores)?.shape;
  if (sigmoid?.opType === 'Sigmoid' && g.consumers(sigmoid.input[0]!).length === 1) {
    scores = sigmoid.input[0]!;
    known = shapes.get(scores)?.shape ?? known;
  }
  const declared = known ?? declaredShape(declaredOut);
  const dims = outputDims ?? declared?.map((d) => (typeof d === 'number' && d > 0 ? d : typeof d === 'string' ? d : undefined));
  if (!dims) throw new InvalidArgumentError('region', `the rank of output '${scores}' is unknown, so a region cannot be placed on it`);
  checkRegion(region, 'region', dims);
  const rank = dims.length;
  const axes: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  if (region.channel !== undefined) axes.push(1), starts.push(region.channel), ends.push(region.channel + 1);
  if (region.box) {
    const half = region.box.length / 2;
    for (let i = 0; i < half; i++) axes.push(rank - half + i), starts.push(region.box[i]!), ends.push(region.box[i + half]!);
  }
  const name = (base: string) => g.fresh(`xsys_region_${base}`);
  const constant = (base: string, v: number[]) => g.addInitializer(int64Tensor(name(base), v, [v.length]));
  const sliced = name('slice');
  g.addNode(makeNode('Slice', [scores, constant('starts', starts), constant('ends', ends), constant('axes', axes)], [sliced], name('slice_node')));
  const summed = name('sum');
  const sumAxes = Array.from({ length: rank - 1 }, (_, i) => i + 1);
  // ReduceSum takes its axes as an input from opset 13; older models get the attribute (they are upgraded later).
  const opset = Number(m.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 13n);
  if (opset >= 13) g.addNode(makeNode('ReduceSum', [sliced, constant('sum_axes', sumAxes)], [summed], name('sum_node'), { keepdims: { int: 1 } }));
  else g.addNode(makeNode('ReduceSum', [sliced], [summed], name('sum_node'), { keepdims: { int: 1 }, axes: { ints: sumAxes } }));
  g.addNode(makeNode('Flatten', [summed], [REGION_SCORE], name('flatten_node'), { axis: { int: 1 } }));
  m.graph!.output = [];
  g.addOutput(REGION_SCORE);
  return m;
}

/** The dims a graph output declares (numbers, symbolic names, or undefined for unknown), if it declares a shape. */
function declaredShape(vi: { type?: { value: { case?: string; value?: unknown } } } | undefined): (number | string | undefined)[] | undefined {
  const t = vi?.type?.value;
  if (t?.case !== 'tensorType') return undefined;
  const shape = (t.value as { shape?: { dim: { value: { case?: string; value?: unknown } }[] } }).shape;
  if (!shape) return undefined;
  return shape.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? String(d.value.value) : undefined));
}
