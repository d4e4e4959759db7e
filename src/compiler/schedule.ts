import type { GraphProto, NodeProto } from 'onnx-buf';

/** Ops whose outputs are a few integers, whenever they run. */
const SHAPE_OPS = new Set(['Shape', 'Size']);

/**
 * Reorders the node list of a compiled graph — still a valid topological order — to steer when ONNX Runtime runs
 * the compiled nodes that do not depend on the seed (an LRP rule's z = f(x; W⁺, b⁺) and its stabiliser, masks,
 * shape arithmetic). The function computed is unchanged.
 *
 * ONNX Runtime orders execution by a depth-first walk back from the outputs that visits a node's inputs in
 * descending node index. Appended at the end of the list, a seed-independent subgraph has the highest indices, so
 * the walk runs it before the relevance arriving from the layers above — during the forward pass — and its output
 * stays alive until the backward pass reaches it. Moved up to right after the nodes producing its inputs, it gets
 * lower indices than the relevance chain and runs just before its use.
 *
 * Moved (run late): what reads an activation the backward pass keeps anyway (z = f(x; W⁺) next to x ⊙ fᵀ(s)) or
 * only constants and shapes (the Flat rule's f(1; 1)), and everything computed from it. Left (run early): what
 * reads an activation nothing else in the backward pass needs — the identity rule's f(x)/x on a GELU, a ReLU's
 * mask y > 0 — since it keeps one tensor instead of the two it reads, or a one-byte mask instead of a four-byte
 * activation. Nodes in `late` (recomputations) are always moved. ResNet50 LRP at batch 8: live activations at the peak 1037 → 8xx MiB (bench/liveness.ts); the
 * gradient and ViT-B/16's AttnLRP keep their peaks.
 */
export function placeSeedIndependentNodes(graph: GraphProto, forward: ReadonlySet<NodeProto>, seed: string, late: ReadonlySet<NodeProto> = new Set()): void {
  const nodes = graph.node;
  const dependsOnSeed = new Set<string>([seed]);
  for (const n of nodes) if (n.input.some((i) => dependsOnSeed.has(i))) for (const o of n.output) if (o) dependsOnSeed.add(o);
  const activations = new Set<string>(graph.input.map((i) => i.name));
  for (const n of forward) for (const o of n.output) activations.add(o);
  const keptForBackward = new Set<string>();
  for (const n of nodes) if (!forward.has(n) && (late.has(n) || n.input.some((i) => dependsOnSeed.has(i)))) for (const i of n.input) if (activations.has(i)) keptForBackward.add(i);
  const runLate = new Set<string>();
  const runEarly = new Set<string>();
  const moved: NodeProto[] = [];
  for (const n of nodes) {
    if (forward.has(n) || n.input.some((i) => dependsOnSeed.has(i))) continue;
    if (SHAPE_OPS.has(n.opType)) continue;
    const readsFreed = n.input.some((i) => runEarly.has(i) || (activations.has(i) && !keptForBackward.has(i) && !runLate.has(i)));
    // Reading both kinds, it runs early: the kept one is alive either way.
    if (late.has(n) || !readsFreed) {
      moved.push(n);
      for (const o of n.output) if (o) runLate.add(o);
    } else for (const o of n.output) if (o) runEarly.add(o);
  }
  if (!moved.length) return;
  const movedSet = new Set(moved);
  const produced = new Set<string>(['', ...graph.input.map((i) => i.name), ...graph.initializer.map((i) => i.name)]);
  const missing = new Map<NodeProto, number>();
  const waiting = new Map<string, NodeProto[]>();
  const ready: NodeProto[] = [];
  for (const n of moved) {
    const need = [...new Set(n.input.filter((i) => !produced.has(i)))];
    missing.set(n, need.length);
    for (const t of need) waiting.set(t, [...(waiting.get(t) ?? []), n]);
    if (!need.length) ready.push(n);
  }
  const out: NodeProto[] = [];
  const emit = (n: NodeProto): void => {
    out.push(n);
    for (const o of n.output) {
      if (!o || produced.has(o)) continue;
      produced.add(o);
      for (const w of waiting.get(o) ?? []) {
        const left = missing.get(w)! - 1;
        missing.set(w, left);
        if (left === 0) ready.push(w);
      }
    }
  };
  const drain = (): void => {
    // Moved nodes in their original relative order as they become ready (ready grows while draining).
    for (let i = 0; i < ready.length; i++) emit(ready[i]!);
    ready.length = 0;
  };
  drain();
  for (const n of nodes) {
    if (movedSet.has(n)) continue;
    emit(n);
    drain();
  }
  // Anything left waits on a tensor no node produces (an optional input left empty, a graph input added later):
  // keep it, in its original order, at the end.
  const placed = new Set(out);
  graph.node = [...out, ...nodes.filter((n) => !placed.has(n))];
}
