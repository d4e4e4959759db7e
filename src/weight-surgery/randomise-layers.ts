/**
 * Model-parameter randomisation on ONNX weights (the model side of MPRT and its variants).
 *
 * A "layer" is a node that owns float weights given as initializers: Conv, ConvTranspose, Gemm, MatMul (with a
 * constant operand) and BatchNormalization. Randomising a layer re-initialises its weights the way the
 * framework's reset_parameters would (torch defaults, which Quantus relies on): weights and biases of
 * Conv/Gemm/MatMul ~ U(−1/√fan_in, 1/√fan_in); BatchNormalization → scale 1, bias 0, mean 0, variance 1.
 * Each layer's weights come from a PRNG seeded by (seed, layer name), so a layer gets the same random weights
 * whichever other layers are randomised with it — cumulative (top-down) randomisation stays consistent.
 */
import type { ModelProto, NodeProto, TensorProto } from 'onnx-buf';
import { InvalidArgumentError } from '../errors.js';
import { cloneModel } from '../onnx/model.js';
import { DataType, decodeTensor, floatTensor } from '../onnx/tensor.js';
import { attrInt } from '../onnx/attributes.js';
import { mulberry32 } from '../seeded-random.js';

const LAYER_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'BatchNormalization']);

/** A node's layer name: its own name, or `<op>_<index>` for unnamed nodes (index in graph order). */
function layerName(node: NodeProto, index: number): string {
  return node.name || `${node.opType}_${index}`;
}

function floatInitializers(model: ModelProto): Map<string, TensorProto> {
  const m = new Map<string, TensorProto>();
  for (const t of model.graph?.initializer ?? []) if (t.dataType === DataType.FLOAT) m.set(t.name, t);
  return m;
}

/** The initializer inputs of a node that are its parameters (MatMul: whichever operand is constant). */
function parameterInputs(node: NodeProto, inits: Map<string, TensorProto>): string[] {
  if (!LAYER_OPS.has(node.opType)) return [];
  const candidates = node.opType === 'MatMul' || node.opType === 'Gemm' ? node.input.slice(0, 3) : node.input.slice(1);
  return candidates.filter((n) => n && inits.has(n));
}

/** Names of the parameterised layers in graph (input → output) order. */
export function parameterisedLayers(model: ModelProto): string[] {
  const inits = floatInitializers(model);
  const out: string[] = [];
  (model.graph?.node ?? []).forEach((node, i) => {
    if (parameterInputs(node, inits).length > 0) out.push(layerName(node, i));
  });
  return out;
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** torch's fan_in of a weight tensor, from its dims and the op's layout. */
function fanIn(node: NodeProto, weightDims: readonly number[], role: 'A' | 'B' | 'W'): number {
  const receptive = weightDims.slice(2).reduce((p, v) => p * v, 1);
  switch (node.opType) {
    case 'Conv':
      return weightDims[1]! * receptive;
    case 'ConvTranspose':
      // torch lays ConvTranspose weights out as [in, out / groups, k…] and takes fan_in from dim 1.
      return weightDims[1]! * receptive;
    case 'Gemm':
      if (role === 'B') return attrInt(node, 'transB', 0) ? weightDims[1]! : weightDims[0]!;
      return attrInt(node, 'transA', 0) ? weightDims[0]! : weightDims[1]!;
    default:
      // MatMul: the contracted dimension.
      return role === 'B' ? weightDims[weightDims.length - 2] ?? weightDims[0]! : weightDims[weightDims.length - 1]!;
  }
}

/**
 * A copy of `model` in which the listed layers have re-initialised weights. Unknown layer names are an error;
 * the input model is not modified. Bias inputs use the fan_in of their layer's weight.
 */
export function randomiseLayers(model: ModelProto, layers: readonly string[], seed: number): ModelProto {
  const copy = cloneModel(model);
  const inits = floatInitializers(copy);
  const wanted = new Set(layers);
  const replaced = new Map<string, TensorProto>();
  const found = new Set<string>();
  (copy.graph?.node ?? []).forEach((node, idx) => {
    const name = layerName(node, idx);
    if (!wanted.has(name)) return;
    const params = parameterInputs(node, inits);
    if (params.length === 0) return;
    found.add(name);
    const rand = mulberry32((hashString(name) ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0);
    if (node.opType === 'BatchNormalization') {
      node.input.slice(1, 5).forEach((input, k) => {
        const t = inits.get(input);
        if (!t) return;
        const c = decodeTensor(t);
        replaced.set(input, floatTensor(input, new Float32Array(c.data.length).fill(k === 0 || k === 3 ? 1 : 0), c.dims));
      });
      return;
    }
    // The weight decides fan_in; for Gemm/MatMul it is the constant operand among A and B.
    const weightInput = node.opType === 'Gemm' || node.opType === 'MatMul' ? params.find((p) => p !== node.input[2]) ?? params[0]! : node.input[1]!;
    const role: 'A' | 'B' | 'W' = node.opType === 'Gemm' || node.opType === 'MatMul' ? (weightInput === node.input[0] ? 'A' : 'B') : 'W';
    const wt = inits.get(weightInput);
    const fan = wt ? fanIn(node, decodeTensor(wt).dims, role) : 1;
    const bound = 1 / Math.sqrt(Math.max(fan, 1));
    for (const input of params) {
      const c = decodeTensor(inits.get(input)!);
      const w = new Float32Array(c.data.length);
      for (let i = 0; i < w.length; i++) w[i] = (2 * rand() - 1) * bound;
      replaced.set(input, floatTensor(input, w, c.dims));
    }
  });
  const missing = layers.filter((l) => !found.has(l));
  if (missing.length) {
    throw new InvalidArgumentError('layers', `no parameterised layer named ${missing.map((m) => `'${m}'`).join(', ')}`, `layers: ${parameterisedLayers(model).join(', ')}`);
  }
  const graph = copy.graph!;
  graph.initializer = graph.initializer.map((t) => replaced.get(t.name) ?? t);
  return copy;
}
