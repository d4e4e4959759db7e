import type { NodeProto } from 'onnx-buf';
import { attrInt } from '../onnx/attributes.js';
import type { Graph } from '../ir/graph.js';
import type { ActivationRegion, NormRegion } from '../canonicalize/types.js';

import type { LinearInfo, Unit, UnitKind } from '../ir/unit.js';

export { UNIT_KINDS, type LinearInfo, type Unit, type UnitKind } from '../ir/unit.js';

const ACTIVATIONS = new Set(['Relu', 'LeakyRelu', 'PRelu', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Celu', 'Softplus', 'Softsign', 'Clip', 'Gelu', 'Mish', 'ThresholdedRelu']);

function dynamicInputs(g: Graph, n: NodeProto): string[] {
  return n.input.filter((i) => i && !g.isConstant(i));
}

/** Ops a q·kᵀ product passes through on its way to the Softmax: scaling, masks, reshapes, casts. */
const TO_SOFTMAX = new Set(['Div', 'Mul', 'Add', 'Sub', 'Where', 'Reshape', 'Transpose', 'Cast', 'Unsqueeze', 'Squeeze', 'Slice', 'Max', 'Min', 'Clip', 'Tanh', 'Identity']);

function feedsSoftmax(g: Graph, t: string, depth = 0): boolean {
  if (depth > 8) return false;
  return g.consumers(t).some((c) => c.opType === 'Softmax' || (TO_SOFTMAX.has(c.opType) && feedsSoftmax(g, c.output[0]!, depth + 1)));
}

/**
 * The tensors of a unit whose cotangents the backward pass reads: every output of a one-node unit (an LSTM's
 * explained output may be its second), else the unit's output. A unit is on the explained path when one is needed.
 */
export function unitOutputs(u: Unit): string[] {
  return u.nodes.length === 1 ? u.last.output.filter(Boolean) : [u.output];
}

export function buildUnits(g: Graph, regions: readonly ActivationRegion[], norms: readonly NormRegion[] = []): Unit[] {
  const inRegion = new Map<NodeProto, ActivationRegion>();
  for (const r of regions) for (const n of r.nodes) inRegion.set(n, r);
  const inNorm = new Map<NodeProto, NormRegion>();
  for (const r of norms) for (const n of r.nodes) inNorm.set(n, r);
  const absorbed = new Set<NodeProto>();
  const units: Unit[] = [];
  for (const n of g.nodes) {
    if (absorbed.has(n)) continue;
    const region = inRegion.get(n);
    if (region) {
      if (n === region.nodes[region.nodes.length - 1]) {
        units.push({ kind: 'activation', name: region.nodes.map((m) => m.name).join('+'), opType: region.name, nodes: region.nodes, last: n, output: region.output });
      }
      continue;
    }
    const norm = inNorm.get(n);
    if (norm) {
      if (n === norm.nodes[norm.nodes.length - 1]) {
        units.push({ kind: 'norm', name: norm.nodes.map((m) => m.name).join('+'), opType: norm.name, nodes: norm.nodes, last: n, output: norm.output, statistics: [norm.statistic] });
      }
      continue;
    }
    const single = (kind: UnitKind, linear?: LinearInfo): Unit => ({ kind, name: n.name, opType: n.opType, nodes: [n], last: n, output: n.output[0]!, linear });
    switch (n.opType) {
      case 'Conv':
      case 'ConvTranspose': {
        const w = g.constant(n.input[1]!);
        const b = n.input[2] ? g.constant(n.input[2]) : undefined;
        if (w && (!n.input[2] || b) && !g.isConstant(n.input[0]!)) {
          units.push(single('conv', { x: n.input[0]!, weight: w, weightName: n.input[1]!, bias: b, biasName: n.input[2] || undefined, node: n }));
        } else units.push(single('other'));
        break;
      }
      case 'Gemm': {
        const w = g.constant(n.input[1]!);
        const b = n.input[2] ? g.constant(n.input[2]) : undefined;
        if (w && attrInt(n, 'transA', 0) === 0 && (!n.input[2] || b) && !g.isConstant(n.input[0]!)) {
          units.push(single('dense', { x: n.input[0]!, weight: w, weightName: n.input[1]!, bias: b, biasName: n.input[2] || undefined, node: n }));
        } else units.push(single('other'));
        break;
      }
      case 'MatMul': {
        const w = g.constant(n.input[1]!);
        if (!w || w.dims.length !== 2 || g.isConstant(n.input[0]!)) {
          units.push(single(productKind(g, n)));
          break;
        }
        // MatMul + Add(bias) is one dense layer (nn.Linear on 3-D inputs exports this way).
        const cons = g.consumers(n.output[0]!);
        const add = cons.length === 1 && cons[0]!.opType === 'Add' && !g.isGraphOutput(n.output[0]!) ? cons[0]! : undefined;
        const biasName = add?.input.find((i) => i !== n.output[0]);
        const bias = biasName ? g.constant(biasName) : undefined;
        if (add && bias && bias.data.length === w.dims[1]) {
          absorbed.add(add);
          units.push({ kind: 'dense', name: `${n.name}+${add.name}`, opType: 'MatMul', nodes: [n, add], last: add, output: add.output[0]!, linear: { x: n.input[0]!, weight: w, weightName: n.input[1]!, bias, biasName, node: n } });
        } else units.push(single('dense', { x: n.input[0]!, weight: w, weightName: n.input[1]!, node: n }));
        break;
      }
      case 'Add':
      case 'Sum':
        units.push(single(dynamicInputs(g, n).length >= 2 ? 'sum' : 'other'));
        break;
      case 'AveragePool':
      case 'GlobalAveragePool':
        units.push(single('avgpool'));
        break;
      case 'ReduceSum':
      case 'ReduceMean':
        units.push(single(!g.isConstant(n.input[0]!) && dynamicInputs(g, n).length === 1 ? 'reduce' : 'other'));
        break;
      case 'Resize':
        units.push(single(g.isConstant(n.input[0]!) ? 'other' : 'resize'));
        break;
      case 'BatchNormalization':
        units.push(single('batchnorm'));
        break;
      case 'LayerNormalization':
        units.push(single('norm'));
        break;
      case 'Mul':
      case 'Einsum':
        units.push(single(productKind(g, n)));
        break;
      default:
        units.push(single(ACTIVATIONS.has(n.opType) ? 'activation' : 'other'));
    }
  }
  return units;
}

/** A product of two non-constant tensors is a 'product' unit ('scores' when it feeds a Softmax); else 'other'. */
function productKind(g: Graph, n: NodeProto): UnitKind {
  if (dynamicInputs(g, n).length < 2) return 'other';
  return feedsSoftmax(g, n.output[0]!) ? 'scores' : 'product';
}
