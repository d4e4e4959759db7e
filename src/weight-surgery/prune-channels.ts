/**
 * Structured pruning: output channels of convolutions removed from the ONNX graph, so the pruned model is smaller
 * (not merely masked). For each pruned Conv the kept rows of its weight and bias stay; the channel axis is then
 * followed through channel-wise ops (activations, pooling, BatchNormalization, Dropout/Identity) to the consumers that
 * read channels: the next Conv (its input-channel slice of the weight, group 1), or Flatten followed by Gemm/MatMul
 * (the weight rows/columns of the kept channels' features, channel-major). Anything else on the way (a residual Add,
 * Concat, Reshape) is refused by name: removing channels there would change another branch too.
 */
import type { ModelProto, NodeProto, TensorProto } from 'onnx-buf';
import { InvalidArgumentError, UnsupportedNodeError } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { attrInt } from '../onnx/attributes.js';
import { cloneModel } from '../onnx/model.js';
import { decodeTensor, floatTensor } from '../onnx/tensor.js';

/** float, float16, double, bfloat16. */
const FLOAT_TYPES = new Set([1, 10, 11, 16]);

/** Ops that act on each channel independently (axis 1 is carried through unchanged). */
const CHANNEL_WISE = new Set(['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Elu', 'Selu', 'Softplus', 'HardSigmoid', 'HardSwish', 'Clip', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LpPool', 'Identity', 'Dropout', 'BatchNormalization']);

export interface PruneResult {
  model: ModelProto;
  /** Per pruned Conv (node name): the channels removed and kept. */
  layers: { node: string; removed: number[]; kept: number[] }[];
  parametersBefore: number;
  parametersAfter: number;
}

export function nodeName(n: NodeProto): string {
  return n.name || `${n.opType}(${n.output[0]})`;
}

export function floatInit(g: Graph, name: string, owner: NodeProto): { data: Float32Array; dims: number[] } {
  const t = g.initializer(name);
  if (!t) throw new UnsupportedNodeError(nodeName(owner), owner.opType, `input '${name}' is not a constant initializer`, 'structured pruning rewrites constant weights only');
  const c = decodeTensor(t);
  if (!(c.data instanceof Float32Array)) throw new UnsupportedNodeError(nodeName(owner), owner.opType, `weight '${name}' is not float32`);
  return { data: c.data, dims: c.dims.map(Number) };
}

/** Replaces initializer `name` (used by this node only) with new data, or adds a fresh one when shared. */
export function setInit(g: Graph, node: NodeProto, index: number, data: Float32Array, dims: number[]): void {
  const name = node.input[index]!;
  const shared = g.nodes.filter((n) => n !== node && n.input.includes(name)).length > 0;
  const out: TensorProto = floatTensor(shared ? g.fresh(`${name}_pruned`) : name, data, dims);
  if (shared) {
    g.addInitializer(out);
    node.input[index] = out.name;
  } else {
    g.proto.initializer = g.proto.initializer.map((t) => (t.name === name ? out : t));
    // The graph's initializer index still points at the old tensor.
    g.reindex();
  }
}

/** Keeps index `keep` along `axis` of a row-major tensor. */
export function sliceAxis(data: Float32Array, dims: readonly number[], axis: number, keep: readonly number[]): Float32Array {
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = dims[axis]!;
  const out = new Float32Array(outer * keep.length * inner);
  for (let o = 0; o < outer; o++) keep.forEach((k, j) => out.set(data.subarray((o * n + k) * inner, (o * n + k + 1) * inner), (o * keep.length + j) * inner));
  return out;
}

/** Parameters: the elements of the floating-point initializers (int64 shape constants are not parameters). */
export function countParams(model: ModelProto): number {
  return model.graph!.initializer.filter((t) => FLOAT_TYPES.has(t.dataType)).reduce((s, t) => s + t.dims.reduce((a, b) => a * Number(b), 1), 0);
}

/** Rewrites the consumers of a tensor whose channel axis (1) keeps only `kept` of `total` channels. */
function rewriteConsumers(g: Graph, tensor: string, kept: readonly number[], total: number, seen: Set<NodeProto>): void {
  for (const c of [...g.consumers(tensor)]) {
    if (seen.has(c)) continue;
    seen.add(c);
    const name = nodeName(c);
    if (CHANNEL_WISE.has(c.opType)) {
      if (c.input[0] !== tensor) throw new UnsupportedNodeError(name, c.opType, `reads the pruned tensor '${tensor}' as a parameter`);
      if (c.opType === 'BatchNormalization') for (let i = 1; i <= 4; i++) {
        const p = floatInit(g, c.input[i]!, c);
        setInit(g, c, i, sliceAxis(p.data, p.dims, 0, kept), [kept.length]);
      }
      rewriteConsumers(g, c.output[0]!, kept, total, seen);
    } else if (c.opType === 'Conv') {
      if (c.input[0] !== tensor) throw new UnsupportedNodeError(name, 'Conv', `reads the pruned tensor '${tensor}' as its weight`);
      if (attrInt(c, 'group', 1) !== 1) throw new UnsupportedNodeError(name, 'Conv', 'grouped convolution after a pruned layer', 'prune the layers of a grouped block together, or not at all');
      const w = floatInit(g, c.input[1]!, c);
      if (w.dims[1] !== total) throw new UnsupportedNodeError(name, 'Conv', `weight has ${w.dims[1]} input channels, the pruned layer had ${total}`);
      setInit(g, c, 1, sliceAxis(w.data, w.dims, 1, kept), [w.dims[0]!, kept.length, ...w.dims.slice(2)]);
    } else if (c.opType === 'Flatten') {
      if (attrInt(c, 'axis', 1) !== 1) throw new UnsupportedNodeError(name, 'Flatten', 'flattens at an axis other than 1');
      const flat = c.output[0]!;
      for (const d of [...g.consumers(flat)]) {
        seen.add(d);
        const dn = nodeName(d);
        if (d.opType !== 'Gemm' && d.opType !== 'MatMul') throw new UnsupportedNodeError(dn, d.opType, `reads the flattened pruned channels of '${tensor}'`, 'structured pruning follows Flatten into Gemm/MatMul only');
        if (d.input[0] !== flat) throw new UnsupportedNodeError(dn, d.opType, 'reads the flattened channels as its weight');
        if (d.opType === 'Gemm' && attrInt(d, 'transA', 0) !== 0) throw new UnsupportedNodeError(dn, 'Gemm', 'transA = 1');
        const w = floatInit(g, d.input[1]!, d);
        const transB = d.opType === 'Gemm' && attrInt(d, 'transB', 0) === 1;
        const K = transB ? w.dims[1]! : w.dims[0]!;
        if (K % total !== 0) throw new UnsupportedNodeError(dn, d.opType, `${K} input features are not ${total} channels × positions`);
        const spatial = K / total;
        const features = kept.flatMap((k) => Array.from({ length: spatial }, (_, s) => k * spatial + s));
        setInit(g, d, 1, sliceAxis(w.data, w.dims, transB ? 1 : 0, features), transB ? [w.dims[0]!, features.length] : [features.length, w.dims[1]!]);
      }
    } else if (c.opType === 'Gemm' || c.opType === 'MatMul') {
      // A [N, C] tensor (after GlobalAveragePool + Squeeze-free export, or a dense layer) feeding a dense layer.
      const w = floatInit(g, c.input[1]!, c);
      const transB = c.opType === 'Gemm' && attrInt(c, 'transB', 0) === 1;
      if ((transB ? w.dims[1] : w.dims[0]) !== total) throw new UnsupportedNodeError(name, c.opType, `weight does not have ${total} input features`);
      setInit(g, c, 1, sliceAxis(w.data, w.dims, transB ? 1 : 0, kept), transB ? [w.dims[0]!, kept.length] : [kept.length, w.dims[1]!]);
    } else {
      throw new UnsupportedNodeError(name, c.opType, `reads the pruned channels of '${tensor}'`, 'structured pruning follows channel-wise ops into Conv, Flatten→Gemm/MatMul and Gemm/MatMul; residual Adds and Concats need their branches pruned together');
    }
  }
}

/**
 * Removes output channels of Conv nodes (by node name, or by output tensor name) and rewrites their consumers.
 * At least one channel of each layer stays. The input model is not changed.
 */
export function pruneChannels(model: ModelProto, remove: Readonly<Record<string, readonly number[]>>): PruneResult {
  const copy = cloneModel(model);
  const g = new Graph(copy);
  const layers: PruneResult['layers'] = [];
  for (const [key, channels] of Object.entries(remove)) {
    const conv = g.nodes.find((n) => n.opType === 'Conv' && (n.name === key || n.output[0] === key));
    if (!conv) throw new InvalidArgumentError('--layer', `no Conv node or Conv output named '${key}'`, `Conv nodes: ${g.nodes.filter((n) => n.opType === 'Conv').map((n) => n.name).join(', ')}`);
    const name = nodeName(conv);
    if (attrInt(conv, 'group', 1) !== 1) throw new UnsupportedNodeError(name, 'Conv', 'grouped convolution', 'pruning a grouped convolution\'s outputs would change its groups');
    const w = floatInit(g, conv.input[1]!, conv);
    const total = w.dims[0]!;
    const drop = new Set(channels);
    for (const ch of drop) if (!Number.isInteger(ch) || ch < 0 || ch >= total) throw new InvalidArgumentError('channels', `channel ${ch} of '${name}' is out of range (0–${total - 1})`);
    const kept = Array.from({ length: total }, (_, i) => i).filter((i) => !drop.has(i));
    if (kept.length === 0) throw new InvalidArgumentError('channels', `would remove all ${total} channels of '${name}'`, 'keep at least one channel per layer');
    if (drop.size === 0) continue;
    if (g.isGraphOutput(conv.output[0]!)) throw new UnsupportedNodeError(name, 'Conv', 'its output is a model output; pruning would change the output shape');
    setInit(g, conv, 1, sliceAxis(w.data, w.dims, 0, kept), [kept.length, ...w.dims.slice(1)]);
    if (conv.input[2]) {
      const b = floatInit(g, conv.input[2], conv);
      setInit(g, conv, 2, sliceAxis(b.data, b.dims, 0, kept), [kept.length]);
    }
    rewriteConsumers(g, conv.output[0]!, kept, total, new Set());
    layers.push({ node: name, removed: [...drop].sort((a, b) => a - b), kept });
  }
  // Shapes recorded for the old channel counts would now be wrong; ONNX Runtime infers them again.
  g.proto.valueInfo = [];
  g.pruneInitializers();
  return { model: copy, layers, parametersBefore: countParams(model), parametersAfter: countParams(copy) };
}
