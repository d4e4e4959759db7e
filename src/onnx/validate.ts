/**
 * Checks a parsed model before anything uses it. What is refused here is what would make xsys or ONNX Runtime do
 * something unsafe or unbounded with an untrusted file:
 * - external data anywhere (initializers, Constant/any tensor attribute, sparse tensors, subgraphs, functions): ONNX
 *   Runtime would read the named file relative to the server's working directory and the bytes would come back in
 *   explanations;
 * - tensors whose dims are negative, too large, or disagree with the data they carry (a typed-array allocation of the
 *   declared size would throw or exhaust memory);
 * - a graph in which a tensor has two producers or a node depends on its own output (graph walks would loop);
 * - integer attributes of standard ops that cannot be what they name (see checkNodeAttributes): an axis beyond any
 *   rank, a perm that is no permutation, a zero stride or a negative kernel size. The compiler sizes arrays and loops
 *   with these values, so they are checked once here instead of at every use.
 */
import {
  TensorProto_DataLocation,
  TensorProto_DataType as DT,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type SparseTensorProto,
  type TensorProto,
} from 'onnx-buf';

import { FileFormatError, LimitExceededError } from '../errors.js';
import { MODEL_LIMITS } from './limits.js';

/** Bytes per element of the fixed-size types, for checking raw_data against the dims. */
const BYTES: Partial<Record<number, number>> = {
  [DT.FLOAT]: 4, [DT.UINT8]: 1, [DT.INT8]: 1, [DT.UINT16]: 2, [DT.INT16]: 2, [DT.INT32]: 4, [DT.INT64]: 8, [DT.BOOL]: 1,
  [DT.FLOAT16]: 2, [DT.DOUBLE]: 8, [DT.UINT32]: 4, [DT.UINT64]: 8, [DT.COMPLEX64]: 8, [DT.COMPLEX128]: 16, [DT.BFLOAT16]: 2,
};

const EXTERNAL_HINT = 'save the model with all tensors inside the file (onnx.save(model, path, save_as_external_data=False))';

/** The element count of checked dims (each a non-negative integer within MODEL_LIMITS). */
export function checkedDims(dims: readonly (bigint | number)[], what: string, file = '<model>'): number[] {
  if (dims.length > MODEL_LIMITS.maxRank) throw new LimitExceededError(`${file}: ${what}: rank`, dims.length, MODEL_LIMITS.maxRank, 'no supported model has tensors of this rank');
  const out: number[] = [];
  let n = 1;
  for (const d of dims) {
    const v = Number(d);
    if (!Number.isInteger(v) || v < 0) throw new FileFormatError(file, `${what}: dimension ${String(d)} is not a non-negative integer`, 'the model file is damaged; export it again');
    if (v > MODEL_LIMITS.maxDim) throw new LimitExceededError(`${file}: ${what}: dimension`, v, MODEL_LIMITS.maxDim);
    n *= v;
    out.push(v);
  }
  if (n > MODEL_LIMITS.maxElements) throw new LimitExceededError(`${file}: ${what}: element count`, n, MODEL_LIMITS.maxElements);
  return out;
}

/** How many values a tensor's typed data field carries (the field its data type stores values in). */
function typedCount(t: TensorProto): number {
  switch (t.dataType) {
    case DT.FLOAT:
    case DT.COMPLEX64:
      return t.floatData.length;
    case DT.DOUBLE:
    case DT.COMPLEX128:
      return t.doubleData.length;
    case DT.INT64:
      return t.int64Data.length;
    case DT.UINT32:
    case DT.UINT64:
      return t.uint64Data.length;
    case DT.STRING:
      return t.stringData.length;
    default:
      return t.int32Data.length;
  }
}

/** Refuses external data and checks dims and data sizes of one tensor. */
export function checkTensor(t: TensorProto, what: string, file = '<model>'): void {
  const label = `${what} '${t.name}'`;
  if (t.dataLocation === TensorProto_DataLocation.EXTERNAL || t.externalData.length > 0) {
    throw new FileFormatError(file, `${label} is stored as external data, which xsys does not load`, EXTERNAL_HINT);
  }
  const dims = checkedDims(t.dims, label, file);
  const n = dims.reduce((a, b) => a * b, 1);
  const size = BYTES[t.dataType];
  const per = t.dataType === DT.COMPLEX64 || t.dataType === DT.COMPLEX128 ? 2 : 1;
  if (t.rawData.length > 0) {
    if (size !== undefined && t.rawData.length !== n * size) {
      throw new FileFormatError(file, `${label}: raw data has ${t.rawData.length} bytes, but dims [${dims.join(', ')}] of ${DT[t.dataType]} need ${n * size}`, 'the model file is damaged; export it again');
    }
  } else if ((size !== undefined || t.dataType === DT.STRING) && typedCount(t) !== n * per) {
    throw new FileFormatError(file, `${label} carries ${typedCount(t)} values, but dims [${dims.join(', ')}] need ${n * per}`, 'the model file is damaged; export it again');
  }
}

function checkSparse(s: SparseTensorProto, what: string, file: string): void {
  if (s.values) checkTensor(s.values, `${what} values`, file);
  if (s.indices) checkTensor(s.indices, `${what} indices`, file);
  checkedDims(s.dims, what, file);
}

function checkAttribute(a: AttributeProto, node: string, depth: number, file: string): void {
  const what = `attribute '${a.name}' of node '${node}'`;
  if (a.t) checkTensor(a.t, what, file);
  for (const t of a.tensors) checkTensor(t, what, file);
  if (a.sparseTensor) checkSparse(a.sparseTensor, what, file);
  for (const s of a.sparseTensors) checkSparse(s, what, file);
  if (a.g) checkGraph(a.g, depth + 1, false, file);
  for (const g of a.graphs) checkGraph(g, depth + 1, false, file);
}

/** Ops whose 'pads' / 'kernel_shape' / 'strides' / 'dilations' describe a sliding window. */
const WINDOWED = new Set(['Conv', 'ConvTranspose', 'ConvInteger', 'QLinearConv', 'MaxPool', 'AveragePool', 'LpPool', 'MaxUnpool', 'DeformConv']);

/** The int and ints of an attribute (both fields: a mistyped attribute is still read by name). */
const intsOf = (a: AttributeProto): bigint[] => [a.i, ...a.ints];

/**
 * Integer attributes of standard (default-domain) ops, by name. The bounds are what any valid model satisfies —
 * tensor ranks are at most MODEL_LIMITS.maxRank, so an axis is within ±maxRank; a perm is a permutation; windows
 * have positive sizes, strides and dilations and non-negative pads; groups are positive — so nothing valid is
 * refused, and the compiler never builds an array or a loop from a value like 2³¹ or 10¹².
 */
function checkNodeAttributes(n: NodeProto, file: string): void {
  if (n.domain !== '' && n.domain !== 'ai.onnx') return;
  const node = n.name || n.opType;
  const bad = (a: AttributeProto, why: string): never => {
    throw new FileFormatError(file, `node '${node}' (${n.opType}): attribute '${a.name}' ${why}`, 'the model file is invalid; export it again');
  };
  for (const a of n.attribute) {
    switch (a.name) {
      case 'axis':
      case 'axes':
        if (a.ints.length > MODEL_LIMITS.maxRank) bad(a, `lists ${a.ints.length} axes, more than any tensor's rank (≤ ${MODEL_LIMITS.maxRank})`);
        for (const v of intsOf(a)) if (v > BigInt(MODEL_LIMITS.maxRank) || v < -BigInt(MODEL_LIMITS.maxRank)) bad(a, `is ${v}, beyond any tensor's rank (≤ ${MODEL_LIMITS.maxRank})`);
        break;
      case 'perm': {
        const p = a.ints.map(Number);
        if (p.length > MODEL_LIMITS.maxRank || [...p].sort((x, y) => x - y).some((v, i) => v !== i)) bad(a, `[${p.slice(0, 8).join(', ')}${p.length > 8 ? ', …' : ''}] is not a permutation of 0…${p.length - 1}`);
        break;
      }
      case 'group':
        if (a.i < 1n || a.i > BigInt(MODEL_LIMITS.maxDim)) bad(a, `is ${a.i}; groups are positive`);
        break;
      case 'kernel_shape':
      case 'strides':
      case 'dilations':
      case 'pads':
      case 'output_padding':
      case 'output_shape':
        if (!WINDOWED.has(n.opType)) break;
        if (a.ints.length > 2 * MODEL_LIMITS.maxRank) bad(a, `has ${a.ints.length} values, more than any tensor's rank allows`);
        for (const v of a.ints) {
          const min = a.name === 'pads' || a.name === 'output_padding' || a.name === 'output_shape' ? 0n : 1n;
          if (v < min || v > BigInt(MODEL_LIMITS.maxDim)) bad(a, `holds ${v}; ${min === 0n ? 'these are non-negative' : 'window sizes, strides and dilations are positive'} and at most ${MODEL_LIMITS.maxDim}`);
        }
        break;
      default:
    }
  }
  if (WINDOWED.has(n.opType)) checkWindowLengths(n, bad);
}

/** A window's kernel_shape, strides, dilations and output_padding have one value per spatial axis, pads two. */
function checkWindowLengths(n: NodeProto, bad: (a: AttributeProto, why: string) => never): void {
  const of = (name: string) => n.attribute.find((a) => a.name === name);
  const kernel = of('kernel_shape');
  let k = kernel?.ints.length;
  for (const [name, per] of [['kernel_shape', 1], ['strides', 1], ['dilations', 1], ['output_padding', 1], ['pads', 2]] as const) {
    const a = of(name);
    if (!a) continue;
    if (a.ints.length === 0 || a.ints.length % per !== 0) bad(a, `has ${a.ints.length} values; it needs ${per === 2 ? 'two per spatial axis' : 'one per spatial axis'}`);
    const axes = a.ints.length / per;
    k ??= axes;
    if (axes !== k) bad(a, `has ${a.ints.length} values, but ${kernel ? `kernel_shape has ${k} spatial axes` : 'the other window attributes describe a different number of axes'}`);
  }
}

function checkNodes(nodes: readonly NodeProto[], depth: number, file: string): void {
  for (const n of nodes) {
    checkNodeAttributes(n, file);
    for (const a of n.attribute) checkAttribute(a, n.name || n.opType, depth, file);
  }
}

/**
 * Duplicate producers and cycles of one graph. Subgraphs read names of their enclosing graphs, so only the main
 * graph's dependencies are walked; every graph is checked for duplicate producers.
 */
function checkStructure(g: GraphProto, main: boolean, file: string): void {
  const producer = new Map<string, number>();
  const defined = new Set<string>([...g.input.map((i) => i.name), ...g.initializer.map((t) => t.name)]);
  g.node.forEach((n, idx) => {
    for (const o of n.output) {
      if (!o) continue;
      const other = producer.get(o);
      if (other !== undefined || defined.has(o)) {
        const first = other !== undefined ? `node '${g.node[other]!.name || g.node[other]!.opType}'` : 'a graph input or initializer';
        throw new FileFormatError(file, `node '${n.name || n.opType}': tensor '${o}' is also produced by ${first}; ONNX tensors have one producer`, 'the model file is invalid; export it again');
      }
      producer.set(o, idx);
    }
  });
  if (!main) return;
  // Kahn's algorithm over node dependencies; a self-dependency counts (it is a cycle of length one).
  const indeg = new Array<number>(g.node.length).fill(0);
  const users: number[][] = g.node.map(() => []);
  g.node.forEach((n, idx) => {
    const deps = new Set<number>();
    for (const i of n.input) {
      const p = i ? producer.get(i) : undefined;
      if (p !== undefined) deps.add(p);
    }
    indeg[idx] = deps.size;
    for (const d of deps) users[d]!.push(idx);
  });
  const ready: number[] = [];
  indeg.forEach((d, i) => d === 0 && ready.push(i));
  let done = 0;
  while (ready.length) {
    const i = ready.pop()!;
    done++;
    for (const u of users[i]!) if (--indeg[u]! === 0) ready.push(u);
  }
  if (done !== g.node.length) {
    const stuck = g.node.find((_, i) => indeg[i]! > 0)!;
    throw new FileFormatError(file, `node '${stuck.name || stuck.opType}': the graph has a cycle through this node (it depends on its own output)`, 'ONNX graphs must be acyclic; export the model again');
  }
}

function checkGraph(g: GraphProto, depth: number, main: boolean, file: string): void {
  if (depth > MODEL_LIMITS.maxGraphDepth) throw new LimitExceededError(`${file}: subgraph nesting depth`, depth, MODEL_LIMITS.maxGraphDepth);
  for (const t of g.initializer) checkTensor(t, 'initializer', file);
  for (const s of g.sparseInitializer) checkSparse(s, 'sparse initializer', file);
  checkNodes(g.node, depth, file);
  checkStructure(g, main, file);
}

/** Throws a typed error (FileFormatError or LimitExceededError) for anything the module comment lists. */
export function validateModel(model: ModelProto, file = '<buffer>'): void {
  if (model.graph) checkGraph(model.graph, 0, true, file);
  for (const f of model.functions) checkNodes(f.node, 1, file);
  for (const t of model.trainingInfo) {
    if (t.initialization) checkGraph(t.initialization, 1, false, file);
    if (t.algorithm) checkGraph(t.algorithm, 1, false, file);
  }
}
