import { clone, create } from '@bufbuild/protobuf';
import { NodeProtoSchema, TensorProtoSchema, type GraphProto, type NodeProto } from 'onnx-buf';
import { attrInt, attrInts, getAttr, makeNode } from '../onnx/attributes.js';
import { constNumbers, int64Tensor } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';
import type { Dim, ValueInfo } from '../ir/shapes.js';
import { inferShapes } from '../ops/shapes.js';
import type { Canonicalizer, CanonReport } from './types.js';
import { foldConstants } from './fold-constants.js';

/**
 * Control flow whose path is known at compile time becomes straight-line code, which the compiler differentiates
 * like any other graph:
 *  - `If` whose condition is a constant or computable from static shapes (`Equal(Gather(Shape(x), 0), 1)`, the
 *    rank tests PyTorch's exporter writes) is replaced by the taken branch, its outer-scope captures kept as they are;
 *  - `Loop` with a constant trip count (and a loop condition that stays true) is unrolled, its scan outputs stacked;
 *  - `Scan` over inputs of static length is unrolled likewise (every scan axis and direction).
 * Inlining repeats until nothing changes, so control flow nested in a taken branch or a loop body is resolved too.
 * What remains (an If on a run-time value) stays in the graph, and `inspect` lists it with its contents.
 */
export const controlFlow: Canonicalizer = {
  name: 'control-flow',
  apply(g: Graph) {
    const reports: CanonReport[] = [];
    // Compile-time decisions first; an If on a run-time value only once nothing else changes (its branches may hold
    // control flow that the first rounds resolve).
    let runTime = false;
    for (let round = 0; round < 64; round++) {
      // Shapes behind an If's condition are often computed from constants (pads of a Pad): folded first.
      reports.push(...foldConstants.apply(g, new Map()));
      const values = new Map<string, Dim[]>();
      const info = inferShapes(g, values);
      let changed = false;
      for (const n of [...g.nodes]) {
        if (n.domain !== '' && n.domain !== 'ai.onnx') continue;
        const detail = n.opType === 'If' ? inlineIf(g, values, n, runTime) : n.opType === 'Loop' ? unrollLoop(g, n) : n.opType === 'Scan' ? unrollScan(g, info, n) : undefined;
        if (!detail) continue;
        reports.push({ canonicalizer: 'control-flow', node: n.name || n.output[0]!, detail });
        changed = true;
        // One run-time If at a time: what it exposes may be decidable at compile time.
        if (runTime) break;
      }
      if (!changed) {
        if (runTime || !g.nodes.some((m) => m.opType === 'If')) break;
        runTime = true;
        continue;
      }
      runTime = false;
      g.sortTopologically();
      g.reindex();
    }
    return reports;
  },
};

/** The compile-time value of an If condition: a constant, or a value propagated from shapes. */
export function conditionValue(g: Graph, values: ReadonlyMap<string, Dim[]>, cond: string): boolean | undefined {
  const c = g.constant(cond);
  if (c && c.data.length === 1) return constNumbers(c)[0] !== 0;
  const v = values.get(cond);
  return v && v.length === 1 && typeof v[0] === 'number' ? v[0] !== 0 : undefined;
}

function inlineIf(g: Graph, values: ReadonlyMap<string, Dim[]>, n: NodeProto, runTime: boolean): string | undefined {
  const taken = conditionValue(g, values, n.input[0]!);
  if (taken === undefined) return runTime ? selectBranches(g, n) : undefined;
  const branch = getAttr(n, taken ? 'then_branch' : 'else_branch')?.g;
  if (!branch) return undefined;
  const nodes = inlineGraph(g, branch, new Map(), n.output);
  replaceNode(g, n, nodes);
  return `condition '${n.input[0]}' is ${taken} at compile time: the ${taken ? 'then' : 'else'} branch (${branch.node.length} nodes) inlined`;
}

/**
 * An If on a run-time value: both branches are inlined and each output is selected by `Where(cond, then, else)`.
 * The forward values are the If's; the gradient and the relevance reach only the taken branch, because Where routes
 * the whole cotangent to the operand it selected (its VJP and, as an 'other' unit, its relevance). Both branches are
 * computed, so a branch must run on the inputs the other one is for (ONNX Runtime reports it when not).
 */
function selectBranches(g: Graph, n: NodeProto): string | undefined {
  const then = getAttr(n, 'then_branch')?.g;
  const other = getAttr(n, 'else_branch')?.g;
  if (!then || !other || then.output.length !== other.output.length) return undefined;
  const savedNodes = [...g.nodes];
  const savedInits = [...g.proto.initializer];
  const a = inlineGraph(g, then, new Map());
  const b = inlineGraph(g, other, new Map());
  const base = n.name || 'if';
  const scalarShape = g.addInitializer(int64Tensor(g.fresh(`${base}_scalar`), [], [0]));
  const cond = g.fresh(`${base}_cond`);
  const nodes: NodeProto[] = [...a, ...b, makeNode('Reshape', [n.input[0]!, scalarShape], [cond], g.fresh(`${cond}_node`))];
  n.output.forEach((o, k) => o && nodes.push(makeNode('Where', [cond, a.outs![k]!, b.outs![k]!], [o], g.fresh(`${o}_select`))));
  replaceNode(g, n, nodes);
  // Branches of different ranks (`x.squeeze(0) if x.shape[0] == 1 else x`) cannot be selected element-wise: the If
  // stays (and is reported as unsupported) unless both outputs have the same known rank.
  const info = inferShapes(g);
  const sameRank = n.output.every((o, k) => {
    if (!o) return true;
    const ra = info.get(a.outs![k]!)?.shape?.length;
    return ra !== undefined && ra === info.get(b.outs![k]!)?.shape?.length;
  });
  if (!sameRank) {
    g.proto.node = savedNodes;
    g.proto.initializer = savedInits;
    g.reindex();
    return undefined;
  }
  return `condition '${n.input[0]}' is known only at run time: both branches (${then.node.length} and ${other.node.length} nodes) inlined, each output selected by Where (gradient and relevance reach only the taken branch)`;
}

/**
 * Copies a subgraph's nodes and initializers into g. `bind` maps the subgraph's formal inputs (loop-carried values,
 * iteration numbers) to tensors of g; every name the subgraph defines gets a fresh name in g, and references to
 * those names inside nested subgraphs are renamed too. The subgraph's outputs are copied into `outputs` (Identity
 * nodes, which the remove-identity canonicaliser drops) when given; the renamed output names are returned either way.
 */
function inlineGraph(g: Graph, sub: GraphProto, bind: Map<string, string>, outputs?: readonly string[]): NodeProto[] & { outs?: string[] } {
  const rename = new Map(bind);
  for (const t of sub.initializer) rename.set(t.name, g.fresh(t.name));
  for (const m of sub.node) for (const o of m.output) if (o) rename.set(o, g.fresh(o));
  for (const t of sub.initializer) g.addInitializer(clone(TensorProtoSchema, { ...t, name: rename.get(t.name)! }));
  const nodes: NodeProto[] & { outs?: string[] } = [];
  for (const m of sub.node) {
    const c = clone(NodeProtoSchema, m);
    c.name = g.fresh(m.name || m.opType);
    c.input = c.input.map((i) => rename.get(i) ?? i);
    c.output = c.output.map((o) => rename.get(o) ?? o);
    for (const a of c.attribute) {
      if (a.g) renameCaptures(a.g, rename);
      for (const sg of a.graphs) renameCaptures(sg, rename);
    }
    nodes.push(c);
  }
  const outs = sub.output.map((o) => rename.get(o.name) ?? o.name);
  if (outputs) outs.forEach((o, k) => outputs[k] && nodes.push(makeNode('Identity', [o], [outputs[k]!], g.fresh(`${outputs[k]}_inlined`))));
  nodes.outs = outs;
  return nodes;
}

/** Renames outer-scope references inside a nested subgraph (ONNX names are unique across scopes: no shadowing). */
function renameCaptures(sub: GraphProto, rename: ReadonlyMap<string, string>): void {
  for (const m of sub.node) {
    m.input = m.input.map((i) => rename.get(i) ?? i);
    for (const a of m.attribute) {
      if (a.g) renameCaptures(a.g, rename);
      for (const sg of a.graphs) renameCaptures(sg, rename);
    }
  }
  for (const o of sub.output) if (rename.has(o.name) && !sub.node.some((m) => m.output.includes(o.name))) {
    // A branch output that is an outer tensor itself is renamed with it.
    o.name = rename.get(o.name)!;
  }
}

function replaceNode(g: Graph, n: NodeProto, nodes: readonly NodeProto[]): void {
  const idx = g.nodes.indexOf(n);
  g.nodes.splice(idx, 1, ...nodes);
  g.reindex();
}

/** Whether a loop body's condition output is its condition input passed through (or a constant true). */
function conditionStaysTrue(body: GraphProto): boolean {
  const condIn = body.input[1]?.name;
  let out = body.output[0]?.name;
  for (let guard = 0; guard < 8 && out; guard++) {
    if (out === condIn) return true;
    const p = body.node.find((m) => m.output.includes(out!));
    if (!p) return false;
    if (p.opType === 'Identity') out = p.input[0];
    else if (p.opType === 'Constant') {
      const t = getAttr(p, 'value')?.t;
      return !!t && constNumbers({ dataType: t.dataType, dims: [], data: decodeBool(t) })[0] !== 0;
    } else return false;
  }
  return false;
}

function decodeBool(t: { int32Data: number[]; rawData: Uint8Array }): Uint8Array {
  return t.rawData.length ? t.rawData : Uint8Array.from(t.int32Data);
}

/** Loop(M, cond, v…) with a constant M ≥ 1, a true initial condition and a condition that stays true: unrolled. */
function unrollLoop(g: Graph, n: NodeProto): string | undefined {
  const body = getAttr(n, 'body')?.g;
  const M = n.input[0] ? g.constant(n.input[0]) : undefined;
  if (!body || !M || M.data.length !== 1) return undefined;
  const trips = constNumbers(M)[0]!;
  if (!(trips >= 1 && trips <= 4096)) return undefined;
  if (n.input[1]) {
    const c = g.constant(n.input[1]);
    if (!c || constNumbers(c)[0] === 0) return undefined;
  }
  if (!conditionStaysTrue(body)) return undefined;
  const carried = n.input.slice(2);
  const nCarried = carried.length;
  const nScan = body.output.length - 1 - nCarried;
  const nodes: NodeProto[] = [];
  let state = [...carried];
  const scans: string[][] = Array.from({ length: nScan }, () => []);
  const trueName = g.addInitializer(create(TensorProtoSchema, { name: g.fresh(`${n.name || 'loop'}_true`), dataType: 9, dims: [], rawData: Uint8Array.of(1) }));
  for (let i = 0; i < trips; i++) {
    const bind = new Map<string, string>();
    bind.set(body.input[0]!.name, g.addInitializer(int64Tensor(g.fresh(`${n.name || 'loop'}_iter${i}`), [i], [])));
    if (body.input[1]) bind.set(body.input[1].name, trueName);
    body.input.slice(2).forEach((inp, k) => bind.set(inp.name, state[k]!));
    const part = inlineGraph(g, body, bind);
    nodes.push(...part);
    const outs = part.outs!;
    state = outs.slice(1, 1 + nCarried);
    outs.slice(1 + nCarried).forEach((o, k) => scans[k]!.push(o));
  }
  const axes0 = g.addInitializer(int64Tensor(g.fresh(`${n.name || 'loop'}_axes0`), [0], [1]));
  n.output.forEach((o, k) => {
    if (!o) return;
    if (k < nCarried) nodes.push(makeNode('Identity', [state[k]!], [o], g.fresh(`${o}_unrolled`)));
    else {
      const parts = scans[k - nCarried]!.map((s) => {
        const u = g.fresh(`${s}_stacked`);
        nodes.push(makeNode('Unsqueeze', [s, axes0], [u], g.fresh(`${u}_node`)));
        return u;
      });
      nodes.push(makeNode('Concat', parts, [o], g.fresh(`${o}_unrolled`), { axis: { int: 0 } }));
    }
  });
  replaceNode(g, n, nodes);
  return `trip count ${trips} at compile time: body (${body.node.length} nodes) unrolled`;
}

/** Scan over inputs whose scanned axis has a static length: unrolled, scan outputs stacked in their directions. */
function unrollScan(g: Graph, info: Map<string, ValueInfo>, n: NodeProto): string | undefined {
  const body = getAttr(n, 'body')?.g;
  if (!body) return undefined;
  const nScanIn = attrInt(n, 'num_scan_inputs', 0);
  const nState = n.input.length - nScanIn;
  const inAxes = attrInts(n, 'scan_input_axes') ?? new Array<number>(nScanIn).fill(0);
  const inDirs = attrInts(n, 'scan_input_directions') ?? new Array<number>(nScanIn).fill(0);
  const nScanOut = body.output.length - nState;
  const outAxes = attrInts(n, 'scan_output_axes') ?? new Array<number>(nScanOut).fill(0);
  const outDirs = attrInts(n, 'scan_output_directions') ?? new Array<number>(nScanOut).fill(0);
  const scanned = n.input.slice(nState);
  let L: number | undefined;
  for (const [k, t] of scanned.entries()) {
    const s = info.get(t)?.shape;
    const ax = s ? (inAxes[k]! < 0 ? inAxes[k]! + s.length : inAxes[k]!) : -1;
    const len = s?.[ax];
    if (typeof len !== 'number') return undefined;
    L = len;
  }
  if (L === undefined || L < 1 || L > 4096) return undefined;
  const base = n.name || 'scan';
  const ints = (v: number[]) => g.addInitializer(int64Tensor(g.fresh(`${base}_i`), v, [v.length]));
  const nodes: NodeProto[] = [];
  let state = n.input.slice(0, nState);
  const outsPerIter: string[][] = Array.from({ length: nScanOut }, () => []);
  for (let i = 0; i < L; i++) {
    const bind = new Map<string, string>();
    body.input.slice(0, nState).forEach((inp, k) => bind.set(inp.name, state[k]!));
    scanned.forEach((t, k) => {
      const rank = info.get(t)!.shape!.length;
      const ax = inAxes[k]! < 0 ? inAxes[k]! + rank : inAxes[k]!;
      const idx = inDirs[k] ? L! - 1 - i : i;
      const sl = g.fresh(`${t}_step${idx}`);
      const el = g.fresh(`${t}_el${idx}`);
      nodes.push(makeNode('Slice', [t, ints([idx]), ints([idx + 1]), ints([ax])], [sl], g.fresh(`${sl}_node`)));
      nodes.push(makeNode('Squeeze', [sl, ints([ax])], [el], g.fresh(`${el}_node`)));
      bind.set(body.input[nState + k]!.name, el);
    });
    const part = inlineGraph(g, body, bind);
    nodes.push(...part);
    state = part.outs!.slice(0, nState);
    part.outs!.slice(nState).forEach((o, k) => outsPerIter[k]!.push(o));
  }
  n.output.forEach((o, k) => {
    if (!o) return;
    if (k < nState) {
      nodes.push(makeNode('Identity', [state[k]!], [o], g.fresh(`${o}_unrolled`)));
      return;
    }
    const j = k - nState;
    const axis = outAxes[j]!;
    const seq = outDirs[j] ? [...outsPerIter[j]!].reverse() : outsPerIter[j]!;
    const parts = seq.map((s) => {
      const u = g.fresh(`${s}_stacked`);
      // A negative output axis counts in the stacked output's rank, one more than the element's (ONNX Scan).
      nodes.push(makeNode('Unsqueeze', [s, ints([axis])], [u], g.fresh(`${u}_node`)));
      return u;
    });
    nodes.push(makeNode('Concat', parts, [o], g.fresh(`${o}_unrolled`), { axis: { int: axis } }));
  });
  replaceNode(g, n, nodes);
  return `scan length ${L} at compile time: body (${body.node.length} nodes) unrolled`;
}
