/**
 * Kindermans et al.'s input-invariance model: a copy of the network whose first layer absorbs a constant input
 * shift, so that f'(x + shift) = f(x) for every x. The first layer is the parameterised node that reads the graph
 * input, directly or through Flatten/Reshape: its bias becomes b − shift · Σ (weights feeding each output).
 * Conv needs zero padding (padded borders would see 0 instead of the shift); a MatMul gets an Add for the offset.
 */
import type { ModelProto, NodeProto } from 'onnx-buf';
import { UnsupportedNodeError } from '../errors.js';
import { cloneModel } from '../onnx/model.js';
import { decodeTensor, floatTensor } from '../onnx/tensor.js';
import { attrFloat, attrInt, attrInts, attrString, makeNode } from '../onnx/attributes.js';

const PASS_THROUGH = new Set(['Flatten', 'Reshape', 'Identity']);

export function compensateInputShift(model: ModelProto, shift: number): ModelProto {
  const copy = cloneModel(model);
  const graph = copy.graph!;
  const inits = new Map(graph.initializer.map((t) => [t.name, t]));
  const input = graph.input.find((i) => !inits.has(i.name))!.name;
  // Follow the input through shape-only nodes to the first layer.
  let tensor = input;
  let node: NodeProto | undefined;
  for (;;) {
    const consumers = graph.node.filter((n) => n.input.includes(tensor));
    if (consumers.length !== 1) throw new UnsupportedNodeError(consumers[0]?.name ?? tensor, consumers[0]?.opType ?? '-', `the input feeds ${consumers.length} nodes; the shift can only be absorbed by a single first layer`);
    node = consumers[0]!;
    if (!PASS_THROUGH.has(node.opType)) break;
    tensor = node.output[0]!;
  }
  const name = node.name || node.opType;
  const weight = inits.get(node.input[1] ?? '');
  if (!weight || !['Conv', 'Gemm', 'MatMul'].includes(node.opType) || node.input[0] !== tensor) {
    throw new UnsupportedNodeError(name, node.opType, 'the first layer must be a Conv, Gemm or MatMul with constant weights on the input', 'input invariance with compensation needs a linear first layer');
  }
  const W = decodeTensor(weight);
  const w = W.data as Float32Array;
  const dims = W.dims.map(Number);
  let offsets: Float32Array;
  if (node.opType === 'Conv') {
    const autoPad = attrString(node, 'auto_pad', 'NOTSET');
    if ((attrInts(node, 'pads') ?? []).some((p) => p !== 0) || (autoPad !== 'NOTSET' && autoPad !== 'VALID')) {
      throw new UnsupportedNodeError(name, 'Conv', 'padded convolution: border outputs would see zeros instead of the shift', 'use a model whose first convolution has no padding');
    }
    const per = dims.slice(1).reduce((a, b) => a * b, 1);
    offsets = Float32Array.from({ length: dims[0]! }, (_, m) => {
      let s = 0;
      for (let j = 0; j < per; j++) s += w[m * per + j]!;
      return shift * s;
    });
  } else {
    // Gemm: B [K, N] (transB = 0) or [N, K]; MatMul: B [K, N].
    const trans = node.opType === 'Gemm' && attrInt(node, 'transB', 0) === 1;
    const alpha = node.opType === 'Gemm' ? attrFloat(node, 'alpha', 1) : 1;
    const [r, c] = [dims[0]!, dims[1]!];
    const N = trans ? r : c;
    const K = trans ? c : r;
    offsets = Float32Array.from({ length: N }, (_, n) => {
      let s = 0;
      for (let k = 0; k < K; k++) s += trans ? w[n * K + k]! : w[k * N + n]!;
      return shift * alpha * s;
    });
  }
  const beta = node.opType === 'Gemm' ? attrFloat(node, 'beta', 1) : 1;
  const biasName = node.opType === 'MatMul' ? undefined : node.input[2];
  const bias = biasName ? inits.get(biasName) : undefined;
  if (bias) {
    const b = Float32Array.from(decodeTensor(bias).data as Float32Array);
    // Gemm's bias may broadcast; only a full per-output bias is rewritten in place.
    if (b.length !== offsets.length) throw new UnsupportedNodeError(name, node.opType, `bias of ${b.length} values for ${offsets.length} outputs`);
    for (let m = 0; m < b.length; m++) b[m] = b[m]! - offsets[m]! / beta;
    graph.initializer = graph.initializer.map((t) => (t.name === biasName ? floatTensor(t.name, b, decodeTensor(bias).dims) : t));
    return copy;
  }
  // No bias: subtract the offsets after the layer with an Add (per output channel for Conv).
  const offName = `${name}_input_shift_offset`;
  const outName = node.output[0]!;
  const pre = `${outName}_before_input_shift`;
  node.output[0] = pre;
  const shape = node.opType === 'Conv' ? [offsets.length, ...new Array(dims.length - 2).fill(1)] : [offsets.length];
  graph.initializer.push(floatTensor(offName, offsets.map((v) => -v), shape));
  const idx = graph.node.indexOf(node);
  graph.node.splice(idx + 1, 0, makeNode('Add', [pre, offName], [outName], `${name}_input_shift`));
  return copy;
}
