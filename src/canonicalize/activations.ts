import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import type { ValueInfo } from '../ir/shapes.js';
import type { ActivationRegion } from './types.js';
import { opSpec } from '../ops/index.js';
import { ACTIVATION_PATTERNS } from '../ops/activations.js';
import { dynamicInputs } from '../ops/op.js';
import { gateOperand } from '../ops/recurrent.js';

/** Element-wise ops an activation written out as several nodes may be made of (the op registry says which). */
// Gate products of unrolled recurrent cells are never part of an activation (o ⊙ tanh(c) is not a SiLU).
const inPattern = (n: NodeProto): boolean => opSpec(n.opType)?.inActivationPattern === true && gateOperand(n) === undefined;

/**
 * Finds element-wise functions of one tensor spread over several nodes — x·sigmoid(x) (SiLU), x·hardsigmoid(x) or
 * x·relu6(x+3)/6 (HardSwish), 0.5·x·(1+erf(x/√2)) (GELU), x·tanh(softplus(x)) (Mish) … A region starts at a node
 * that combines two non-constant tensors which both trace back, through single-input element-wise nodes, to the same
 * root x, and grows downstream through element-wise nodes with constant operands. Its inner tensors must not be
 * used outside it. The graph is not changed: the compiler treats the region as one activation node.
 */
export function findActivationRegions(g: Graph, info: Map<string, ValueInfo>): ActivationRegion[] {
  const regions: ActivationRegion[] = [];
  const taken = new Set<NodeProto>();
  const nodes = g.nodes;
  for (let k = nodes.length - 1; k >= 0; k--) {
    const join = nodes[k]!;
    if (taken.has(join) || !inPattern(join)) continue;
    const dyn = dynamicInputs(g, join);
    if (dyn.length < 2) continue;
    const members = new Set<NodeProto>([join]);
    const roots = new Set<string>();
    const trace = (t: string): void => {
      const p = g.producer(t);
      // Only scalar constants belong to an activation's formula; a per-feature constant (a bias Add) is a layer's.
      // Inner joins are followed too (x + c·x³ inside the tanh-approximated GELU): all leaves must meet in one root.
      if (p && inPattern(p) && !taken.has(p) && !g.isGraphOutput(t) && scalarConstants(g, p)) {
        if (members.has(p)) return;
        members.add(p);
        dynamicInputs(g, p).forEach(trace);
      } else roots.add(t);
    };
    dyn.forEach(trace);
    if (roots.size !== 1) continue;
    const root = [...roots][0]!;
    let output = join.output[0]!;
    // Grow downstream through constant-operand element-wise nodes (the /6 of HardSwish, the ·0.5 of GELU).
    for (;;) {
      const cons = g.consumers(output);
      if (cons.length !== 1 || g.isGraphOutput(output)) break;
      const c = cons[0]!;
      if (!inPattern(c) || dynamicInputs(g, c).length !== 1 || !['Mul', 'Div', 'Add', 'Sub'].includes(c.opType)) break;
      const cst = c.input.find((i) => i !== output && g.isConstant(i));
      const cval = cst ? g.constant(cst) : undefined;
      // Only scalar constants: a per-channel scale after the product would be a layer, not part of the activation.
      if (!cval || cval.dims.reduce((a, b) => a * b, 1) !== 1) break;
      members.add(c);
      output = c.output[0]!;
    }
    // Inner tensors must stay inside the region.
    let closed = true;
    for (const m of members) {
      for (const o of m.output) {
        if (!o || o === output) continue;
        if (g.isGraphOutput(o) || g.consumers(o).some((c) => !members.has(c))) closed = false;
      }
    }
    if (!closed) continue;
    const xs = info.get(root)?.shape;
    const ys = info.get(output)?.shape;
    if (xs && ys && (xs.length !== ys.length || xs.some((d, i) => d !== ys[i] && typeof d === 'number' && typeof ys[i] === 'number'))) continue;
    for (const m of members) taken.add(m);
    const ordered = nodes.filter((n) => members.has(n));
    regions.push({ name: nameRegion(ordered), input: root, output, nodes: ordered });
  }
  return regions.reverse();
}

function scalarConstants(g: Graph, n: NodeProto): boolean {
  return n.input.every((i) => !i || !g.isConstant(i) || g.constant(i)!.data.length === 1);
}

/** The region's name by the ops inside it (the activation family's recognised patterns). */
function nameRegion(nodes: NodeProto[]): string {
  const ops = new Set(nodes.map((n) => n.opType));
  return ACTIVATION_PATTERNS.find((p) => p.matches(ops, nodes))?.name ?? 'activation';
}
