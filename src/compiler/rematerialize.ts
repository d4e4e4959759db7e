import type { NodeProto } from 'onnx-buf';
import { makeNode } from '../onnx/attributes.js';
import type { Graph } from '../ir/graph.js';
import type { Emitter } from '../ir/emitter.js';

/** Ops that may be recomputed: the attention-score chain q·kᵀ → scale → mask → softmax, and nothing costlier. */
const RECOMPUTABLE = new Set(['MatMul', 'Mul', 'Div', 'Add', 'Sub', 'Where', 'Softmax', 'Transpose', 'Reshape', 'Cast']);
const MAX_NODES = 8;

/**
 * Recomputes attention probabilities in the backward pass instead of keeping them from the forward pass.
 *
 * A Softmax output A that backward nodes read (A·V's and the softmax's own backward) is alive from the forward pass
 * until the backward pass reaches its layer: 14 MiB per layer for ViT-B/16 at batch 8. When A can be recomputed
 * from tensors the backward pass keeps anyway (q and kᵀ, which the uniform rule on q·kᵀ reads) and from constants,
 * masks and graph inputs, through at most a few cheap ops and one MatMul, the backward readers get a recomputed copy
 * instead. Same ops on the same float32 values, so the same numbers. The copy's first op reads q through a Reshape
 * to its own shape, so ONNX Runtime's common-subexpression elimination cannot merge it back into the forward.
 * With CP-LRP (no gradient into q and k) q and k are not kept, and A is kept as before. Returns the nodes it
 * created, which the scheduler must run late (placeSeedIndependentNodes).
 */
export function rematerializeAttention(g: Graph, em: Emitter, forward: ReadonlySet<NodeProto>): Set<NodeProto> {
  const nodes = g.proto.node;
  const created = new Set<NodeProto>();
  const backwardReaders = (t: string): NodeProto[] => g.consumers(t).filter((c) => !forward.has(c));
  // Read by some backward node: alive after the forward pass anyway (q for the backward's qᵀ, kᵀ for g·k).
  // Shape readers do not count: they are redirected to the recomputed tensors like every other backward reader.
  const kept = new Set<string>();
  for (const n of nodes) if (!forward.has(n) && n.opType !== 'Shape' && n.opType !== 'Size') for (const i of n.input) kept.add(i);
  const graphInputs = new Set(g.inputs.map((i) => i.name));
  const renamed = new Map<string, string>();
  for (const softmax of nodes.filter((n) => forward.has(n) && n.opType === 'Softmax')) {
    if (!backwardReaders(softmax.output[0]!).length) continue;
    // Walk back to tensors that are available late anyway.
    const chain: NodeProto[] = [];
    const seen = new Set<NodeProto>();
    let ok = true;
    let matmuls = 0;
    const visit = (n: NodeProto): void => {
      if (!ok || seen.has(n)) return;
      seen.add(n);
      if (!RECOMPUTABLE.has(n.opType) || chain.length >= MAX_NODES) {
        ok = false;
        return;
      }
      if (n.opType === 'MatMul' && ++matmuls > 1) {
        ok = false;
        return;
      }
      for (const i of n.input) {
        if (!i || g.isConstant(i) || graphInputs.has(i) || kept.has(i)) continue;
        const p = g.producer(i);
        // Shape arithmetic and other small integer tensors are cheap to keep; a float activation is not.
        if (!p || !forward.has(p)) {
          ok = false;
          return;
        }
        if (isSmallInteger(p)) continue;
        visit(p);
      }
      chain.push(n);
    };
    visit(softmax);
    if (!ok || matmuls === 0) continue;
    // Clone in topological order (the chain is in post-order), renaming every output; a node shared with an earlier
    // layer's chain (the padding mask) is cloned once.
    const ref = (t: string): string => renamed.get(t) ?? t;
    let distinguished = false;
    for (const n of chain) {
      if (n.output.every((o) => !o || renamed.has(o))) continue;
      const inputs = n.input.map(ref);
      if (!distinguished && n.opType === 'MatMul') {
        // Re-read q through a Reshape to its own shape: a different input for ORT's CSE, no copy at run time.
        const before = em.created.length;
        inputs[0] = em.op('Reshape', [inputs[0]!, em.shapeOf(n.input[0]!)], {}, 'remat_q');
        for (const c of em.created.slice(before)) created.add(c);
        distinguished = true;
      }
      const outputs = n.output.map((o) => (o ? g.fresh(`xsys/remat_${o.replace(/^\//, '')}`) : ''));
      n.output.forEach((o, k) => o && renamed.set(o, outputs[k]!));
      const clone = makeNode(n.opType, inputs, outputs, g.fresh(`xsys/remat_${n.name || n.opType}`));
      clone.attribute = n.attribute.map((x) => ({ ...x }));
      clone.domain = n.domain;
      g.addNode(clone);
      created.add(clone);
    }
    // Every backward reader of a chain tensor (the probabilities, and a Shape of the scores) reads the copy.
    for (const n of chain) {
      for (const t of n.output) {
        if (!t) continue;
        for (const r of backwardReaders(t)) if (!created.has(r)) r.input = r.input.map((i) => (i === t ? renamed.get(t)! : i));
      }
    }
  }
  if (created.size) g.reindex();
  return created;
}

/** Nodes whose outputs are shapes or index arithmetic, not activations. */
function isSmallInteger(n: NodeProto): boolean {
  return ['Shape', 'Size', 'Gather', 'Concat', 'Unsqueeze', 'Squeeze', 'ConstantOfShape', 'Range', 'Slice', 'Cast', 'Equal', 'Not', 'Less', 'Greater', 'Expand', 'Trilu'].includes(n.opType);
}
