import type { NodeProto } from 'onnx-buf';
import { attrInt } from '../onnx/attributes.js';
import { constNumbers } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';
import type { NormRegion } from './types.js';

/** Ops allowed between the variance reduction and the division: +ε, √, 1/·, dtype casts, constant scales. */
const STAT_OPS = new Set(['Sqrt', 'Add', 'Reciprocal', 'Cast', 'Div', 'Mul', 'Pow']);

function dynamicInputs(g: Graph, n: NodeProto): string[] {
  return n.input.filter((i) => i && !g.isConstant(i));
}

/** The tensor a node casts from, or the tensor itself (mixed-precision exports wrap the statistics in Casts). */
function uncast(g: Graph, t: string): string {
  const p = g.producer(t);
  return p && p.opType === 'Cast' ? p.input[0]! : t;
}

function isSquareOf(g: Graph, t: string): string | undefined {
  const p = g.producer(t);
  if (!p) return undefined;
  if (p.opType === 'Pow') {
    const e = g.constant(p.input[1]!);
    return e && constNumbers(e).length === 1 && constNumbers(e)[0] === 2 ? p.input[0]! : undefined;
  }
  if (p.opType === 'Mul' && p.input[0] === p.input[1]) return p.input[0]!;
  return undefined;
}

/** y = x − mean(x) over the same axes: the centring step of a LayerNorm. */
function isCentred(g: Graph, y: string): boolean {
  const p = g.producer(uncast(g, y));
  if (!p || p.opType !== 'Sub') return false;
  const m = g.producer(p.input[1]!);
  return !!m && m.opType === 'ReduceMean' && m.input[0] === p.input[0];
}

/**
 * Recognises normalisations written out as primitive ops, as opsets < 17 export LayerNorm and every opset exports
 * RMSNorm: n / √(mean(n²) + ε) or n · 1/√(…), where n = x − mean(x) (LayerNorm) or n = x (RMSNorm). The region is
 * the variance branch plus the division, widened to the centring x − mean(x) and a constant affine γ·(…) + β around it
 * when nothing else reads their inner tensors; its `statistic` (the denominator or the reciprocal factor) is what AttnLRP's
 * identity rule on normalisations holds constant. The graph is not changed.
 */
export function findNormRegions(g: Graph): NormRegion[] {
  const out: NormRegion[] = [];
  for (const n of g.nodes) {
    if (n.opType !== 'Div' && n.opType !== 'Mul') continue;
    const dyn = dynamicInputs(g, n);
    if (dyn.length !== 2 || dyn[0] === dyn[1]) continue;
    const candidates = n.opType === 'Div' ? [[n.input[0]!, n.input[1]!]] : [[n.input[0]!, n.input[1]!], [n.input[1]!, n.input[0]!]];
    for (const [a, b] of candidates as [string, string][]) {
      const region = matchStatistic(g, n, a, b);
      if (region) {
        out.push(extend(g, region));
        break;
      }
    }
  }
  return out;
}

function matchStatistic(g: Graph, n: NodeProto, a: string, b: string): NormRegion | undefined {
  const chain: NodeProto[] = [];
  let t = b;
  let reduce: NodeProto | undefined;
  for (let steps = 0; steps < 8; steps++) {
    const p = g.producer(t);
    if (!p) return undefined;
    if (p.opType === 'ReduceMean' || p.opType === 'ReduceSum') {
      if (attrInt(p, 'keepdims', 1) !== 1) return undefined;
      reduce = p;
      break;
    }
    if (!STAT_OPS.has(p.opType)) return undefined;
    const dyn = dynamicInputs(g, p);
    if (dyn.length !== 1) return undefined;
    chain.push(p);
    t = dyn[0]!;
  }
  if (!reduce) return undefined;
  chain.push(reduce);
  const sq = reduce.input[0]!;
  const base = isSquareOf(g, sq);
  if (!base) return undefined;
  const square = g.producer(sq)!;
  if (uncast(g, base) !== uncast(g, a) && base !== a) return undefined;
  chain.push(square);
  const nodes = [...chain.reverse(), n];
  const members = new Set(nodes);
  // Inner tensors of the variance branch must not be used elsewhere, or holding them constant would change more.
  for (const m of nodes) {
    if (m === n) continue;
    for (const o of m.output) if (o && (g.isGraphOutput(o) || g.consumers(o).some((c) => !members.has(c)))) return undefined;
  }
  const order = new Map(g.nodes.map((m, i) => [m, i]));
  nodes.sort((x, y) => order.get(x)! - order.get(y)!);
  return { name: isCentred(g, a) ? 'LayerNorm' : 'RMSNorm', input: a, output: n.output[0]!, statistic: b, nodes };
}

/** Whether a binary node combines t with a constant. */
function constantOperand(g: Graph, n: NodeProto, t: string): boolean {
  if (n.input.length !== 2) return false;
  const other = n.input[0] === t ? n.input[1]! : n.input[1] === t ? n.input[0]! : undefined;
  return other !== undefined && other !== t && g.isConstant(other);
}

/** The only consumer of t, when t is read by exactly one node and is not a graph output. */
function soleConsumer(g: Graph, t: string): NodeProto | undefined {
  const cons = g.consumers(t);
  return cons.length === 1 && !g.isGraphOutput(t) ? cons[0] : undefined;
}

/**
 * Widens a region to the whole normalisation layer: the centring (ReduceMean + Sub) before it, when the centred tensor
 * feeds only the region, and the constant scale γ (Mul) and shift β (Add) after it. As one unit the layer is a linear
 * map of x once the statistic is held constant, so a rule that conserves relevance through linear maps (the identity
 * rule in relevance form) conserves it through the whole LayerNorm; split into pieces, the centring alone would send
 * +R to x and −R through the mean, and γ would scale relevance under the plain gradient.
 */
function extend(g: Graph, r: NormRegion): NormRegion {
  const nodes = [...r.nodes];
  const members = new Set(nodes);
  let input = r.input;
  const sub = g.producer(r.input);
  if (r.name === 'LayerNorm' && sub && sub.opType === 'Sub' && !g.isGraphOutput(r.input) && g.consumers(r.input).every((c) => members.has(c))) {
    const mean = g.producer(sub.input[1]!)!;
    if (soleConsumer(g, mean.output[0]!) === sub) {
      nodes.unshift(mean, sub);
      input = sub.input[0]!;
    }
  }
  let output = r.output;
  for (const op of ['Mul', 'Add']) {
    const next = soleConsumer(g, output);
    if (!next || next.opType !== op || !constantOperand(g, next, output)) continue;
    nodes.push(next);
    output = next.output[0]!;
  }
  return { ...r, input, output, nodes };
}
