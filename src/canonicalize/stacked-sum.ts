import type { NodeProto } from 'onnx-buf';
import { attrInt, attrInts, makeNode } from '../onnx/attributes.js';
import { constInts } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';
import type { ValueInfo } from '../ir/shapes.js';
import type { Canonicalizer, CanonReport } from './types.js';

/** Axes given as an attribute (before opset 13) or as a constant second input (from opset 13). */
function axesOf(g: Graph, n: NodeProto): number[] | undefined {
  const a = attrInts(n, 'axes');
  if (a) return a;
  const c = n.input[1] ? g.constant(n.input[1]) : undefined;
  return c ? constInts(c) : undefined;
}

const norm = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/**
 * The tensor a Concat input stacks along `axis` (output rank `rank`): the input of an Unsqueeze on that axis, or the
 * input itself when it is known to have size 1 there (e.g. already unsqueezed upstream, or keepdims reductions).
 */
function stackedPart(g: Graph, info: Map<string, ValueInfo>, t: string, axis: number, rank: number): { source: string; unsqueezed: boolean } | undefined {
  const p = g.producer(t);
  if (p && p.opType === 'Unsqueeze') {
    const axes = axesOf(g, p);
    if (axes && axes.length === 1 && norm(axes[0]!, rank) === axis) return { source: p.input[0]!, unsqueezed: true };
  }
  const shape = info.get(t)?.shape;
  if (shape && shape.length === rank && shape[axis] === 1) return { source: t, unsqueezed: false };
  return undefined;
}

/**
 * Rewrites a sum of stacked tensors — `Concat` of n tensors along an axis on which each has size 1 (typically each
 * `Unsqueeze`d there), followed by `ReduceSum` over exactly that axis — into one n-ary `Sum`, as PyTorch exports
 * `torch.stack([a, b], d).sum(d)` (Zennit's `Sum` layer). The function is unchanged (the same additions); what changes
 * is that the sum is one node, so composites give it the `Norm` rule as they do an `Add`, instead of the plain
 * gradient through Concat/ReduceSum.
 */
export const stackedSum: Canonicalizer = {
  name: 'stacked-sum',
  apply(g: Graph, info: Map<string, ValueInfo>) {
    const reports: CanonReport[] = [];
    const bypassed: NodeProto[] = [];
    for (const red of [...g.nodes]) {
      if (red.opType !== 'ReduceSum') continue;
      const cat = g.producer(red.input[0]!);
      if (!cat || cat.opType !== 'Concat' || cat.input.length < 2) continue;
      const catOut = cat.output[0]!;
      if (g.consumers(catOut).length !== 1 || g.isGraphOutput(catOut)) continue;
      const rank = info.get(catOut)?.shape?.length;
      const axes = axesOf(g, red);
      if (rank === undefined || !axes || axes.length !== 1) continue;
      const axis = norm(attrInt(cat, 'axis', 0), rank);
      if (norm(axes[0]!, rank) !== axis) continue;
      const parts = cat.input.map((t) => stackedPart(g, info, t, axis, rank));
      if (parts.some((p) => !p)) continue;
      const keep = attrInt(red, 'keepdims', 1) === 1;
      const out = red.output[0]!;
      // Unsqueezed parts drop the axis, parts of size 1 keep it; a Sum needs them alike, and the result must have the
      // ReduceSum's rank: keepdims=0 wants the parts without the axis, keepdims=1 with it.
      const wantUnsqueezed = !keep;
      const inputs = parts.map((p, k) => (p!.unsqueezed === wantUnsqueezed ? p!.source : cat.input[k]!));
      if (!keep && parts.some((p) => !p!.unsqueezed)) continue;
      const sum = makeNode('Sum', inputs, [out], g.fresh(`${red.name || 'stacked'}_sum`));
      const idx = g.nodes.indexOf(red);
      g.nodes.splice(idx, 1, sum);
      bypassed.push(cat, ...cat.input.map((t) => g.producer(t)).filter((p): p is NodeProto => p?.opType === 'Unsqueeze'));
      reports.push({ canonicalizer: 'stacked-sum', node: red.name, detail: `ReduceSum over the stacked axis ${axis} of Concat '${cat.name}' is a Sum of ${inputs.length} tensors` });
    }
    if (reports.length) {
      g.reindex();
      removeDead(g, bypassed);
    }
    return reports;
  },
};

/** Drops the bypassed Concat and Unsqueezes once nothing reads them (an Unsqueeze may still feed something else). */
function removeDead(g: Graph, candidates: readonly NodeProto[]): void {
  const unused = (n: NodeProto) => n.output.every((o) => !o || (g.consumers(o).length === 0 && !g.isGraphOutput(o)));
  const cat = new Set(candidates.filter((n) => n.opType === 'Concat' && unused(n)));
  if (cat.size) g.removeNodes(cat);
  const rest = new Set(candidates.filter((n) => n.opType !== 'Concat' && g.nodes.includes(n) && unused(n)));
  if (rest.size) g.removeNodes(rest);
  g.pruneInitializers();
}
