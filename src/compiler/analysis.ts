import { constNumbers } from '../onnx/tensor.js';
import { subgraphCaptures, type Graph } from '../ir/graph.js';
import type { ValueInfo } from '../ir/shapes.js';
import { NON_DIFFERENTIABLE, opSpec } from '../ops/index.js';
import type { SignContext } from '../ops/op.js';

const FLOAT_TYPES = new Set([1, 10, 11, 16]);

/** Tensors that depend differentiably on the given inputs (float tensors only; integer shape arithmetic is not). */
export function activeTensors(g: Graph, info: Map<string, ValueInfo>, from: readonly string[]): Set<string> {
  const active = new Set(from);
  for (const n of g.nodes) {
    if (NON_DIFFERENTIABLE.has(n.opType)) continue;
    if (!n.input.some((i) => active.has(i)) && !(n.attribute.some((a) => a.g || a.graphs.length) && subgraphCaptures(n).some((i) => active.has(i)))) continue;
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
    // Control flow left in the graph reads outer tensors from its subgraphs.
    if (n.attribute.some((a) => a.g || a.graphs.length)) for (const i of subgraphCaptures(n)) if (active.has(i)) needed.add(i);
  }
  return needed;
}

/**
 * Proves, by the ops that produced it, that a tensor has no negative element (ReLU outputs, max pooling of those,
 * sums and products of non-negative tensors …), each op's rule read from the op registry.
 * Used to drop the x⁻ half of ZPlus/AlphaBeta/Gamma exactly.
 */
export class NonNegativity {
  private memo = new Map<string, boolean>();
  private readonly ctx: SignContext;
  constructor(private readonly g: Graph) {
    this.ctx = { g, check: (t) => this.check(t) };
  }

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
    const rule = opSpec(p.opType)?.nonNegative;
    return rule ? rule(this.ctx, p) : false;
  }
}
