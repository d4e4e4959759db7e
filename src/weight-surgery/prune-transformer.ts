/**
 * Structured pruning of transformers: attention heads and MLP hidden neurons removed from the ONNX graph, so the
 * pruned model is smaller (not merely masked).
 *
 * Attention is recognised in the form PyTorch exports hand-written multi-head attention (separate q/k/v Linears,
 * `view(b, t, h, dh).transpose(1, 2)`, `softmax(q kᵀ / √dh) v`, `transpose(1, 2).reshape(b, t, d)`, output Linear):
 * from each Softmax that feeds a MatMul (attention · v), back through the scores MatMul to the q and k branches and
 * to the v branch — Transposes, scalings and one Reshape each down to a Linear with constant weights — and forward
 * through a Transpose and the merging Reshape into the output Linear. Removing a head drops its dh columns of the
 * q/k/v weights and biases and its dh rows of the output weight, and rewrites the number of heads in the three
 * splitting Reshapes and h·dh in the merging one: constant shape vectors, or the constant pieces of a Concat when the
 * export computes the shape (dynamic axes). nn.MultiheadAttention's packed in-projection (one Linear sliced into
 * q, k, v, heads merged with the batch axis, head size computed from the embedding size) is refused by name.
 *
 * An MLP is a Linear whose output reaches exactly one other Linear through element-wise ops only (bias Add, GELU —
 * also as the Erf subgraph —, ReLU, tanh …, scalar constants); removing a neuron drops its column of the first
 * Linear (weight and bias) and its row of the second.
 */
import type { ModelProto, NodeProto } from 'onnx-buf';
import { InvalidArgumentError, UnsupportedNodeError } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { attrInt, attrInts } from '../onnx/attributes.js';
import { cloneModel } from '../onnx/model.js';
import { constInts, int64Tensor, numel } from '../onnx/tensor.js';
import { countParams, floatInit, nodeName, setInit, sliceAxis } from './prune-channels.js';

/** A Linear with a constant 2-D weight: MatMul (+ Add of a constant bias) or Gemm. */
export interface LinearLayer {
  node: NodeProto;
  /** The bias: a constant input of an Add after a MatMul, or a Gemm's C. */
  bias?: { node: NodeProto; index: number };
  /** Axis of the weight that holds the output features, and the one that holds the input features. */
  outAxis: number;
  inAxis: number;
  inFeatures: number;
  outFeatures: number;
  /** The layer's output tensor (after the bias). */
  output: string;
}

export interface AttentionBlock {
  /** The attention output (the output projection's input), where head relevance is measured. */
  tensor: string;
  /** The output projection node. */
  node: string;
  heads: number;
  headDim: number;
  q: LinearLayer;
  k: LinearLayer;
  v: LinearLayer;
  /** The Reshapes that split q, k, v into heads, and the one that merges the heads. */
  splits: NodeProto[];
  merge: NodeProto;
  out: LinearLayer;
}

export interface MlpBlock {
  /** The hidden activation (the second Linear's input), where neuron relevance is measured. */
  tensor: string;
  /** The first Linear's node. */
  node: string;
  neurons: number;
  up: LinearLayer;
  down: LinearLayer;
}

const ELEMENTWISE_UNARY = new Set(['Relu', 'LeakyRelu', 'Gelu', 'Erf', 'Tanh', 'Sigmoid', 'Softplus', 'Elu', 'Selu', 'HardSigmoid', 'HardSwish', 'Neg', 'Abs', 'Exp', 'Identity', 'Dropout', 'Clip', 'Mish', 'Cast']);
const ELEMENTWISE_BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min']);

function weightDims(g: Graph, node: NodeProto): number[] | undefined {
  const w = g.initializer(node.input[1] ?? '');
  return w && w.dims.length === 2 && w.dataType === 1 ? w.dims.map(Number) : undefined;
}

/** The Linear that reads `tensor` as its input (MatMul/Gemm with a constant 2-D weight), if `node` is one. */
function linearReading(g: Graph, node: NodeProto, tensor: string): LinearLayer | undefined {
  if (node.input[0] !== tensor || g.isConstant(tensor)) return undefined;
  const dims = weightDims(g, node);
  if (!dims) return undefined;
  if (node.opType === 'MatMul') {
    const add = g.consumers(node.output[0]!);
    const biasAdd = add.length === 1 && add[0]!.opType === 'Add' ? add[0]! : undefined;
    const bi = biasAdd ? biasAdd.input.findIndex((i) => i !== node.output[0] && g.isConstant(i)) : -1;
    const bias = biasAdd && bi >= 0 && numel(g.constant(biasAdd.input[bi]!)!.dims.map(Number)) === dims[1] ? { node: biasAdd, index: bi } : undefined;
    return { node, bias, outAxis: 1, inAxis: 0, inFeatures: dims[0]!, outFeatures: dims[1]!, output: bias ? biasAdd!.output[0]! : node.output[0]! };
  }
  if (node.opType === 'Gemm' && attrInt(node, 'transA', 0) === 0) {
    const transB = attrInt(node, 'transB', 0) === 1;
    const [outAxis, inAxis] = transB ? [0, 1] : [1, 0];
    const bias = node.input[2] && g.isConstant(node.input[2]) && numel(g.constant(node.input[2])!.dims.map(Number)) === dims[outAxis] ? { node, index: 2 } : undefined;
    if (node.input[2] && !bias) return undefined;
    return { node, bias, outAxis, inAxis, inFeatures: dims[inAxis]!, outFeatures: dims[outAxis]!, output: node.output[0]! };
  }
  return undefined;
}

/** The Linear whose output (after its bias) is `tensor`. */
function linearProducing(g: Graph, tensor: string): LinearLayer | undefined {
  const p = g.producer(tensor);
  if (!p) return undefined;
  if (p.opType === 'Add') {
    for (const i of p.input) {
      const mm = g.producer(i);
      const l = mm && mm.opType === 'MatMul' ? linearReading(g, mm, mm.input[0]!) : undefined;
      if (l && l.output === tensor) return l;
    }
    return undefined;
  }
  const l = linearReading(g, p, p.input[0]!);
  return l && l.output === tensor ? l : undefined;
}

/** Entry `index` of a Reshape's shape: its value and how to replace it (constant vectors, or Concat pieces). */
function shapeEntry(g: Graph, reshape: NodeProto, index: number): { value: number; set(value: number): void } {
  const where = nodeName(reshape);
  const shape = reshape.input[1]!;
  const replaced = (values: number[], orig: string, owner: NodeProto, slot: number) => () => {
    owner.input[slot] = g.addInitializer(int64Tensor(g.fresh(`${orig}_pruned`), values));
  };
  const c = g.constant(shape);
  if (c) {
    const v = constInts(c)!;
    return {
      value: v[index]!,
      set(value) {
        const nv = [...v];
        nv[index] = value;
        replaced(nv, shape, reshape, 1)();
      },
    };
  }
  const cat = g.producer(shape);
  if (cat?.opType === 'Concat' && attrInt(cat, 'axis', 0) === 0) {
    let at = 0;
    for (let slot = 0; slot < cat.input.length; slot++) {
      const piece = cat.input[slot]!;
      const pc = g.constant(piece);
      const p = g.producer(piece);
      const len = pc ? numel(pc.dims.map(Number)) : p?.opType === 'Unsqueeze' ? 1 : undefined;
      if (len === undefined) throw new UnsupportedNodeError(where, 'Reshape', `its shape is a Concat with a computed piece '${piece}' of unknown length`, 'head pruning rewrites shape constants; export with view(b, t, heads, head_dim) and constant heads');
      if (index < at + len) {
        // A computed size (Unsqueeze of a Gather of a Shape): NaN; replacing it puts a constant in its place.
        if (!pc) return { value: Number.NaN, set: (value) => void (cat.input[slot] = g.addInitializer(int64Tensor(g.fresh(`${piece}_pruned`), [value]))) };
        const v = constInts(pc)!;
        return {
          value: v[index - at]!,
          set(value) {
            const nv = [...v];
            nv[index - at] = value;
            cat.input[slot] = g.addInitializer(int64Tensor(g.fresh(`${piece}_pruned`), nv, pc.dims.map(Number)));
          },
        };
      }
      at += len;
    }
  }
  throw new UnsupportedNodeError(where, 'Reshape', `its shape '${shape}' is neither a constant nor a Concat of constants and Unsqueezed sizes`, 'head pruning rewrites shape constants');
}

/** Back from a scores/values operand to the Reshape that split a Linear's output into heads; the heads axis must end at 1. */
function traceSplit(g: Graph, tensor: string, role: string, at: string): { reshape: NodeProto; linear: LinearLayer } {
  const perms: number[][] = [];
  let t = tensor;
  for (let steps = 0; steps < 16; steps++) {
    const p = g.producer(t);
    if (!p) break;
    if (p.opType === 'Transpose') {
      perms.unshift(attrInts(p, 'perm') ?? [3, 2, 1, 0]);
      t = p.input[0]!;
    } else if ((p.opType === 'Div' || p.opType === 'Mul') && g.isConstant(p.input[1]!) && numel(g.constant(p.input[1]!)!.dims.map(Number)) === 1) {
      t = p.input[0]!;
    } else if (p.opType === 'Mul' && g.isConstant(p.input[0]!) && numel(g.constant(p.input[0]!)!.dims.map(Number)) === 1) {
      t = p.input[1]!;
    } else if (p.opType === 'Identity' || p.opType === 'Dropout') {
      t = p.input[0]!;
    } else if (p.opType === 'Reshape') {
      const linear = linearProducing(g, p.input[0]!);
      if (!linear) {
        const src = g.producer(p.input[0]!);
        const packed = src?.opType === 'Slice' || src?.opType === 'Split' || src?.opType === 'Gather';
        throw new UnsupportedNodeError(src ? nodeName(src) : nodeName(p), src?.opType ?? 'Reshape', `the ${role} of the attention at ${at} does not come from a Linear with a constant weight${packed ? ' but is sliced from a packed projection (nn.MultiheadAttention\'s in_proj): not supported' : ''}`, 'head pruning supports attention written with separate q/k/v Linears and view(b, t, heads, head_dim)');
      }
      // Heads sit on axis 2 of the split [b, t, h, dh]; follow them through the Transposes.
      let pos = 2;
      for (const perm of perms) pos = perm.indexOf(pos);
      if (pos !== 1) throw new UnsupportedNodeError(nodeName(p), 'Reshape', `the heads axis of the ${role} of the attention at ${at} does not end on axis 1 (after ${perms.length} Transposes)`, 'expected view(b, t, heads, head_dim).transpose(1, 2)');
      return { reshape: p, linear };
    } else break;
  }
  const p = g.producer(t);
  throw new UnsupportedNodeError(p ? nodeName(p) : t, p?.opType ?? 'input', `the ${role} of the attention at ${at} is not a Linear split into heads by a Reshape (found ${p?.opType ?? 'a graph input'})`, 'head pruning supports attention written with separate q/k/v Linears and view(b, t, heads, head_dim)');
}

/** Back from a Softmax's input to the q·kᵀ MatMul (through scalings and additive masks). */
function scoresMatMul(g: Graph, tensor: string, depth = 0): NodeProto | undefined {
  const p = g.producer(tensor);
  if (!p || depth > 8) return undefined;
  if (p.opType === 'MatMul') return g.isConstant(p.input[0]!) || g.isConstant(p.input[1]!) ? undefined : p;
  if (['Div', 'Mul', 'Add', 'Sub', 'Where', 'Identity', 'Cast'].includes(p.opType)) {
    for (const i of p.input) {
      if (!i || g.isConstant(i)) continue;
      const m = scoresMatMul(g, i, depth + 1);
      if (m) return m;
    }
  }
  return undefined;
}

function attentionAt(g: Graph, softmax: NodeProto): AttentionBlock | undefined {
  let probs = softmax.output[0]!;
  let av: NodeProto | undefined;
  for (let steps = 0; steps < 4 && !av; steps++) {
    const cs = g.consumers(probs);
    av = cs.find((c) => c.opType === 'MatMul' && c.input[0] === probs);
    const pass = cs.find((c) => c.opType === 'Dropout' || c.opType === 'Identity' || c.opType === 'Cast');
    if (!av && pass) probs = pass.output[0]!;
    else break;
  }
  if (!av) return undefined;
  const at = nodeName(softmax);
  const qk = scoresMatMul(g, softmax.input[0]!);
  if (!qk) throw new UnsupportedNodeError(at, 'Softmax', 'feeds attention · v, but no q·kᵀ MatMul was found before it');
  const q = traceSplit(g, qk.input[0]!, 'query', at);
  const k = traceSplit(g, qk.input[1]!, 'key', at);
  const v = traceSplit(g, av.input[1]!, 'value', at);
  // Forward: attention · v [b, h, t, dh] → Transpose → Reshape [b, t, h·dh] → output Linear.
  let t = av.output[0]!;
  let pos = 1;
  let merge: NodeProto | undefined;
  for (let steps = 0; steps < 6 && !merge; steps++) {
    const cs = g.consumers(t);
    if (cs.length !== 1) throw new UnsupportedNodeError(nodeName(av), 'MatMul', `the attention output at ${at} has ${cs.length} consumers`, 'head pruning expects transpose(1, 2).reshape(b, t, d) into the output Linear');
    const c = cs[0]!;
    if (c.opType === 'Transpose') pos = (attrInts(c, 'perm') ?? [3, 2, 1, 0]).indexOf(pos);
    else if (c.opType === 'Reshape') merge = c;
    else if (c.opType !== 'Identity') throw new UnsupportedNodeError(nodeName(c), c.opType, `reads the attention output at ${at} before its heads are merged`, 'head pruning expects transpose(1, 2).reshape(b, t, d) into the output Linear');
    t = c.output[0]!;
  }
  if (!merge || pos !== 2) throw new UnsupportedNodeError(at, 'Softmax', 'the heads of its attention output are not merged by transpose(1, 2).reshape(b, t, h·dh)');
  const outs = g.consumers(merge.output[0]!);
  const out = outs.length === 1 ? linearReading(g, outs[0]!, merge.output[0]!) : undefined;
  if (!out) throw new UnsupportedNodeError(nodeName(merge), 'Reshape', `the merged heads of the attention at ${at} do not feed one Linear with a constant weight`);
  const heads = shapeEntry(g, q.reshape, 2).value;
  if (Number.isNaN(heads)) throw new UnsupportedNodeError(nodeName(q.reshape), 'Reshape', `the number of heads of the attention at ${at} is computed, not a constant`, 'head pruning rewrites shape constants; export with view(b, t, heads, head_dim)');
  const d = q.linear.outFeatures;
  if (!(heads > 0) || d % heads !== 0) throw new UnsupportedNodeError(nodeName(q.reshape), 'Reshape', `splits ${d} features into ${heads} heads`);
  for (const [role, x] of [['key', k], ['value', v]] as const) {
    if (x.linear.outFeatures !== d || shapeEntry(g, x.reshape, 2).value !== heads) throw new UnsupportedNodeError(nodeName(x.reshape), 'Reshape', `the ${role} of the attention at ${at} is not split into ${heads} heads of ${d / heads} like the query`);
  }
  if (out.inFeatures !== d) throw new UnsupportedNodeError(nodeName(out.node), out.node.opType, `reads ${out.inFeatures} features, the attention at ${at} has ${d}`);
  const m = shapeEntry(g, merge, 2).value;
  // reshape(b, t, d) with d read from the input's shape (dynamic export) is computed: NaN, rewritten to −1 when pruned.
  if (m !== d && m !== -1 && !Number.isNaN(m)) throw new UnsupportedNodeError(nodeName(merge), 'Reshape', `merges the heads of the attention at ${at} into ${m} features, not ${d}`);
  return { tensor: merge.output[0]!, node: nodeName(out.node), heads, headDim: d / heads, q: q.linear, k: k.linear, v: v.linear, splits: [q.reshape, k.reshape, v.reshape], merge, out };
}

/** The attention blocks of a model (one per attention Softmax), in graph order. */
export function findAttention(g: Graph): AttentionBlock[] {
  return g.nodes.filter((n) => n.opType === 'Softmax').flatMap((s) => attentionAt(g, s) ?? []);
}

/** The MLP starting at a Linear, or why there is none. */
function mlpFrom(g: Graph, up: LinearLayer): MlpBlock | string {
  const set = new Set([up.output]);
  const queue = [up.output];
  const downs: LinearLayer[] = [];
  const binaries: NodeProto[] = [];
  while (queue.length) {
    const t = queue.shift()!;
    if (g.isGraphOutput(t)) return `its hidden tensor '${t}' is a model output`;
    for (const c of g.consumers(t)) {
      const asLinear = linearReading(g, c, t);
      if (asLinear) {
        if (asLinear.inFeatures !== up.outFeatures) return `'${nodeName(c)}' reads ${asLinear.inFeatures} features, not ${up.outFeatures}`;
        if (!downs.some((d) => d.node === c)) downs.push(asLinear);
      } else if (ELEMENTWISE_UNARY.has(c.opType) && c.input[0] === t && c.input.slice(1).every((i) => !i || g.isConstant(i))) {
        if (!set.has(c.output[0]!)) (set.add(c.output[0]!), queue.push(c.output[0]!));
      } else if (ELEMENTWISE_BINARY.has(c.opType)) {
        binaries.push(c);
        if (!set.has(c.output[0]!)) (set.add(c.output[0]!), queue.push(c.output[0]!));
      } else return `'${nodeName(c)}' (${c.opType}) reads the hidden neurons`;
    }
  }
  // Every other operand of a binary op must be a scalar constant or itself hidden (x · Φ(x) of GELU).
  for (const b of binaries) {
    for (const i of b.input) {
      if (set.has(i)) continue;
      const c = g.constant(i);
      if (!c || numel(c.dims.map(Number)) !== 1) return `'${nodeName(b)}' (${b.opType}) combines the hidden neurons with '${i}'`;
    }
  }
  if (downs.length !== 1) return downs.length ? `the hidden neurons feed ${downs.length} Linears` : 'the hidden neurons feed no Linear';
  return { tensor: downs[0]!.node.input[0]!, node: nodeName(up.node), neurons: up.outFeatures, up, down: downs[0]! };
}

/** The MLPs of a model — Linear → element-wise ops → Linear — in graph order. */
export function findMlps(g: Graph): MlpBlock[] {
  const out: MlpBlock[] = [];
  for (const n of g.nodes) {
    const l = n.opType === 'MatMul' || n.opType === 'Gemm' ? linearReading(g, n, n.input[0]!) : undefined;
    const m = l ? mlpFrom(g, l) : undefined;
    if (m && typeof m !== 'string') out.push(m);
  }
  return out;
}

/** Keeps output features `features` of a Linear (weight and bias). */
function keepOutputs(g: Graph, l: LinearLayer, features: readonly number[]): void {
  const w = floatInit(g, l.node.input[1]!, l.node);
  setInit(g, l.node, 1, sliceAxis(w.data, w.dims, l.outAxis, features), w.dims.map((d, i) => (i === l.outAxis ? features.length : d)));
  if (l.bias) {
    const b = floatInit(g, l.bias.node.input[l.bias.index]!, l.bias.node);
    // A bias is [d] or [1, …, d]: its features are on the last axis.
    setInit(g, l.bias.node, l.bias.index, sliceAxis(b.data, b.dims, b.dims.length - 1, features), b.dims.map((d, i) => (i === b.dims.length - 1 ? features.length : d)));
  }
}

function keepInputs(g: Graph, l: LinearLayer, features: readonly number[]): void {
  const w = floatInit(g, l.node.input[1]!, l.node);
  setInit(g, l.node, 1, sliceAxis(w.data, w.dims, l.inAxis, features), w.dims.map((d, i) => (i === l.inAxis ? features.length : d)));
}

export interface TransformerPruneResult {
  model: ModelProto;
  /** Per pruned attention (output projection node) or MLP (first Linear node): the heads or neurons removed and kept. */
  layers: { kind: 'heads' | 'neurons'; node: string; tensor: string; removed: number[]; kept: number[] }[];
  parametersBefore: number;
  parametersAfter: number;
}

function checkUnits(units: readonly number[], total: number, what: string, where: string): number[] {
  const drop = new Set(units);
  for (const u of drop) if (!Number.isInteger(u) || u < 0 || u >= total) throw new InvalidArgumentError('units', `${what} ${u} of '${where}' is out of range (0–${total - 1})`);
  const kept = Array.from({ length: total }, (_, i) => i).filter((i) => !drop.has(i));
  if (kept.length === 0) throw new InvalidArgumentError('units', `would remove all ${total} ${what}s of '${where}'`, `keep at least one ${what} per layer`);
  return kept;
}

/**
 * Removes attention heads (`heads`: by attention output tensor or output projection node) and MLP neurons
 * (`neurons`: by hidden tensor or first-Linear node). The input model is not changed.
 */
export function pruneTransformer(model: ModelProto, remove: { heads?: Readonly<Record<string, readonly number[]>>; neurons?: Readonly<Record<string, readonly number[]>> }): TransformerPruneResult {
  const copy = cloneModel(model);
  const g = new Graph(copy);
  const layers: TransformerPruneResult['layers'] = [];
  const heads = Object.entries(remove.heads ?? {});
  const neurons = Object.entries(remove.neurons ?? {});
  // Found before any rewrite: the blocks hold the nodes, which the rewrites keep.
  const attention = heads.length ? findAttention(g) : [];
  const mlps = neurons.length ? findMlps(g) : [];
  for (const [key, units] of heads) {
    const a = attention.find((x) => x.tensor === key || x.node === key);
    if (!a) throw new InvalidArgumentError('--layers', `no attention whose output tensor or output projection is '${key}'`, attention.length ? `attention outputs: ${attention.map((x) => x.tensor).join(', ')}` : 'no attention recognised in this model (see xsys prune --help)');
    const kept = checkUnits(units, a.heads, 'head', a.node);
    if (kept.length === a.heads) continue;
    const features = kept.flatMap((h) => Array.from({ length: a.headDim }, (_, j) => h * a.headDim + j));
    for (const l of [a.q, a.k, a.v]) keepOutputs(g, l, features);
    keepInputs(g, a.out, features);
    for (const r of a.splits) shapeEntry(g, r, 2).set(kept.length);
    const merged = shapeEntry(g, a.merge, 2);
    // A computed width (the input's d) would now be wrong: −1 lets the Reshape infer h'·dh from b and t.
    if (Number.isNaN(merged.value)) merged.set(-1);
    else if (merged.value !== -1) merged.set(features.length);
    layers.push({ kind: 'heads', node: a.node, tensor: a.tensor, removed: units.length ? [...new Set(units)].sort((x, y) => x - y) : [], kept });
  }
  for (const [key, units] of neurons) {
    const m = mlps.find((x) => x.tensor === key || x.node === key);
    if (!m) {
      // Say why a named Linear is not an MLP, rather than only that it was not found.
      const n = g.nodes.find((x) => x.name === key);
      const l = n ? linearReading(g, n, n.input[0]!) : undefined;
      const why = l ? mlpFrom(g, l) : undefined;
      if (n && typeof why === 'string') throw new UnsupportedNodeError(key, n.opType, `is not the first Linear of an MLP: ${why}`, 'neuron pruning follows Linear → element-wise ops → Linear');
      throw new InvalidArgumentError('--layers', `no MLP whose hidden tensor or first Linear is '${key}'`, mlps.length ? `MLP hidden tensors: ${mlps.map((x) => x.tensor).join(', ')}` : 'no MLP (Linear → element-wise → Linear) recognised in this model');
    }
    const kept = checkUnits(units, m.neurons, 'neuron', m.node);
    if (kept.length === m.neurons) continue;
    keepOutputs(g, m.up, kept);
    keepInputs(g, m.down, kept);
    layers.push({ kind: 'neurons', node: m.node, tensor: m.tensor, removed: [...new Set(units)].sort((x, y) => x - y), kept });
  }
  // Shapes recorded for the old sizes would now be wrong; ONNX Runtime infers them again.
  g.proto.valueInfo = [];
  // The shape constants replaced above leave their Constant nodes unread.
  g.reindex();
  g.removeNodes(new Set(g.nodes.filter((n) => n.opType === 'Constant' && n.output.every((o) => g.consumers(o).length === 0 && !g.isGraphOutput(o)))));
  g.pruneInitializers();
  return { model: copy, layers, parametersBefore: countParams(model), parametersAfter: countParams(copy) };
}

/** L1 norm of each head's weights (its q/k/v columns and output rows) and of each neuron's (its two Linears' column and row). */
export function transformerMagnitudes(model: ModelProto, kind: 'heads' | 'neurons'): Record<string, Float64Array> {
  const g = new Graph(model);
  const l1 = (l: LinearLayer, axis: 'out' | 'in', groups: number): Float64Array => {
    const w = floatInit(g, l.node.input[1]!, l.node);
    const ax = axis === 'out' ? l.outAxis : l.inAxis;
    const n = w.dims[ax]!;
    const per = n / groups;
    const out = new Float64Array(groups);
    for (let i = 0; i < w.data.length; i++) {
      const r = Math.floor(i / w.dims[1]!);
      const c = i % w.dims[1]!;
      out[Math.floor((ax === 0 ? r : c) / per)]! += Math.abs(w.data[i]!);
    }
    return out;
  };
  const sum = (xs: Float64Array[]) => xs.reduce((a, b) => a.map((v, i) => v + b[i]!));
  if (kind === 'heads') return Object.fromEntries(findAttention(g).map((a) => [a.tensor, sum([l1(a.q, 'out', a.heads), l1(a.k, 'out', a.heads), l1(a.v, 'out', a.heads), l1(a.out, 'in', a.heads)])]));
  return Object.fromEntries(findMlps(g).map((m) => [m.tensor, sum([l1(m.up, 'out', m.neurons), l1(m.down, 'in', m.neurons)])]));
}
