import type { NodeProto } from 'onnx-buf';
import { attrFloat } from '../onnx/attributes.js';
import { constNumbers } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';
import type { ValueInfo } from '../ir/shapes.js';
import { NON_DIFFERENTIABLE } from '../ops/index.js';

const FLOAT_TYPES = new Set([1, 10, 11, 16]);

/** Tensors that depend differentiably on the given inputs (float tensors only; integer shape arithmetic is not). */
export function activeTensors(g: Graph, info: Map<string, ValueInfo>, from: readonly string[]): Set<string> {
  const active = new Set(from);
  for (const n of g.nodes) {
    if (NON_DIFFERENTIABLE.has(n.opType)) continue;
    if (!n.input.some((i) => active.has(i))) continue;
    for (const o of n.output) {
      if (!o) continue;
      const et = info.get(o)?.elemType ?? 0;
      if (et === 0 || FLOAT_TYPES.has(et)) active.add(o);
    }
  }
  // MaxPool's second output (indices) is integer even when shape inference could not tell.
  for (const n of g.nodes) if (n.opType === 'MaxPool' && n.output[1]) active.delete(n.output[1]);
  return active;
}

/** Tensors from which `target` can be reached, restricted to the active set. */
export function neededTensors(g: Graph, active: Set<string>, targets: readonly string[]): Set<string> {
  const needed = new Set(targets.filter((t) => active.has(t)));
  const nodes = g.nodes;
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k]!;
    if (!n.output.some((o) => needed.has(o))) continue;
    for (const i of n.input) if (active.has(i)) needed.add(i);
  }
  return needed;
}

const ALWAYS_NONNEG = new Set(['Relu', 'Sigmoid', 'Softmax', 'Exp', 'Abs', 'Sqrt', 'HardSigmoid', 'Softplus', 'Shape', 'Size']);
const PRESERVES_NONNEG = new Set([
  'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze',
  'Identity', 'Dropout', 'Slice', 'Expand', 'Split', 'Concat', 'Min', 'Add', 'Sum', 'Mul', 'Div', 'ReduceMax', 'ReduceSum',
  'ReduceMean', 'ReduceMin', 'Resize', 'Upsample', 'Tile', 'DepthToSpace', 'SpaceToDepth', 'Cast',
]);

/**
 * Proves, by the ops that produced it, that a tensor has no negative element (ReLU outputs, max pooling of those,
 * sums and products of non-negative tensors …). Used to drop the x⁻ half of ZPlus/AlphaBeta/Gamma exactly.
 */
export class NonNegativity {
  private memo = new Map<string, boolean>();
  constructor(private readonly g: Graph) {}

  check(t: string): boolean {
    const cached = this.memo.get(t);
    if (cached !== undefined) return cached;
    this.memo.set(t, false); // cycles cannot occur, but be safe while recursing
    const result = this.compute(t);
    this.memo.set(t, result);
    return result;
  }

  private compute(t: string): boolean {
    const c = this.g.constant(t);
    if (c) return constNumbers(c).every((v) => v >= 0);
    const p = this.g.producer(t);
    if (!p) return false;
    if (ALWAYS_NONNEG.has(p.opType)) return true;
    if (p.opType === 'Clip') return this.clipMinNonNeg(p);
    if (p.opType === 'Max') return p.input.some((i) => i && this.check(i));
    if (p.opType === 'Gather') return this.check(p.input[0]!);
    if (p.opType === 'Pad') {
      const v = p.input[2] ? this.g.constant(p.input[2]) : undefined;
      return this.check(p.input[0]!) && (!p.input[2] || (v !== undefined && constNumbers(v).every((x) => x >= 0)));
    }
    if (p.opType === 'LeakyRelu') return attrFloat(p, 'alpha', 0.01) === 0 && this.check(p.input[0]!);
    if (PRESERVES_NONNEG.has(p.opType)) return p.input.filter(Boolean).every((i) => this.check(i) || this.isShapeInput(p, i));
    return false;
  }

  /** Shape/axes inputs of Reshape, Slice … are integers; they do not affect the sign of the data. */
  private isShapeInput(p: NodeProto, i: string): boolean {
    return i !== p.input[0] && ['Reshape', 'Slice', 'Expand', 'Split', 'Squeeze', 'Unsqueeze', 'Tile', 'Resize', 'Upsample', 'ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin'].includes(p.opType);
  }

  private clipMinNonNeg(p: NodeProto): boolean {
    const minName = p.input[1];
    if (minName) {
      const c = this.g.constant(minName);
      return c !== undefined && constNumbers(c)[0]! >= 0;
    }
    return attrFloat(p, 'min', -Infinity) >= 0;
  }
}
