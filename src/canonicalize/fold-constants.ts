import type { NodeProto } from 'onnx-buf';
import { attrInt, attrInts, getAttr } from '../onnx/attributes.js';
import { asFloat32, constInts, constNumbers, decodeTensor, floatTensor, int64Tensor, numel, type ConstTensor } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';
import type { Canonicalizer, CanonReport } from './types.js';

/** Ops whose result on constant inputs is computed here (rearrangements of float32 or int64 constants). */
const FOLDABLE = new Set(['Slice', 'Concat', 'Unsqueeze', 'Squeeze', 'Reshape', 'Identity', 'Transpose', 'Cast', 'ConstantOfShape']);

/**
 * Folds rearrangements of constants — `Slice`, `Concat`, `Unsqueeze`, `Squeeze`, `Reshape` of initializers — into
 * initializers. Exporters write a recurrent cell's gate reordering this way (PyTorch's LSTMCell: W sliced into its
 * gates and concatenated in ONNX order), and the recurrent canonicaliser needs W, R and B as constants. Only float32
 * and int64 tensors of at most 2²⁴ elements are folded; the values are copied, never recomputed in another precision.
 */
export const foldConstants: Canonicalizer = {
  name: 'fold-constants',
  apply(g: Graph) {
    const reports: CanonReport[] = [];
    const folded = new Set<NodeProto>();
    for (const n of g.nodes) {
      if (!FOLDABLE.has(n.opType) || (n.domain !== '' && n.domain !== 'ai.onnx') || n.output.length !== 1) continue;
      if (g.isGraphOutput(n.output[0]!)) continue;
      const ins = n.input.map((i) => (i ? g.constant(i) : undefined));
      if (n.input.some((i, k) => i && !ins[k])) continue;
      const x = ins[0];
      if (!x || (x.dataType !== 1 && x.dataType !== 7) || numel(x.dims) > 1 << 24) continue;
      const r = fold(n, ins as ConstTensor[]);
      if (!r) continue;
      const name = n.output[0]!;
      g.addInitializer((r.type ?? x.dataType) === 1 ? floatTensor(name, Float32Array.from(r.data as number[]), r.dims) : int64Tensor(name, r.data, r.dims));
      folded.add(n);
      reports.push({ canonicalizer: 'fold-constants', node: n.name || name, detail: `${n.opType} of constants folded into '${name}' [${r.dims.join(', ')}]` });
    }
    if (folded.size) {
      g.removeNodes(folded);
      g.pruneInitializers();
    }
    return reports;
  },
};

interface Folded { data: number[]; dims: number[]; /** The element type when it is not the first input's. */ type?: number }

const values = (c: ConstTensor): number[] => (c.dataType === 1 ? Array.from(asFloat32(c)) : Array.from(c.data as BigInt64Array, Number));
const norm = (a: number, rank: number) => (a < 0 ? a + rank : a);

function fold(n: NodeProto, ins: ConstTensor[]): Folded | undefined {
  const x = ins[0]!;
  const dims = x.dims;
  switch (n.opType) {
    case 'Identity':
      return { data: values(x), dims };
    case 'ConstantOfShape': {
      const shape = constInts(x);
      const v = getAttr(n, 'value')?.t;
      const type = v?.dataType ?? 1;
      if (!shape || numel(shape) > 1 << 20 || (type !== 1 && type !== 7)) return undefined;
      const fill = v ? values(decodeTensor(v))[0] ?? 0 : 0;
      return { data: new Array<number>(numel(shape)).fill(fill), dims: shape, type };
    }
    case 'Cast':
      // Between float32 and int64 only (what the result is written as): shape arithmetic and pads.
      return attrInt(n, 'to', 0) === x.dataType ? { data: values(x), dims } : undefined;
    case 'Transpose': {
      const perm = attrInts(n, 'perm') ?? dims.map((_, i) => dims.length - 1 - i);
      const out = perm.map((p) => dims[p]!);
      const src = values(x);
      const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
      const data: number[] = [];
      const walk = (axis: number, offset: number) => {
        if (axis === out.length) return void data.push(src[offset]!);
        for (let i = 0; i < out[axis]!; i++) walk(axis + 1, offset + i * strides[perm[axis]!]!);
      };
      if (numel(out) > 0) walk(0, 0);
      return { data, dims: out };
    }
    case 'Unsqueeze': {
      const axes = ins[1] ? constInts(ins[1]) : attrInts(n, 'axes');
      if (!axes) return undefined;
      const rank = dims.length + axes.length;
      const out = [...dims];
      for (const a of axes.map((v) => norm(v, rank)).sort((p, q) => p - q)) out.splice(a, 0, 1);
      return { data: values(x), dims: out };
    }
    case 'Squeeze': {
      const axes = ins[1] ? constInts(ins[1]) : attrInts(n, 'axes');
      const drop = new Set((axes ?? dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => norm(a, dims.length)));
      return { data: values(x), dims: dims.filter((_, i) => !drop.has(i)) };
    }
    case 'Reshape': {
      const shape = ins[1] ? constInts(ins[1]) : undefined;
      if (!shape) return undefined;
      const out = shape.map((d, i) => (d === 0 && attrInt(n, 'allowzero', 0) === 0 ? dims[i]! : d));
      const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      const total = numel(dims);
      const resolved = out.map((d) => (d === -1 ? total / known : d));
      return numel(resolved) === total && resolved.every(Number.isInteger) ? { data: values(x), dims: resolved } : undefined;
    }
    case 'Concat': {
      if (ins.some((c) => c.dataType !== x.dataType || c.dims.length !== dims.length)) return undefined;
      const axis = norm(attrInt(n, 'axis', 0), dims.length);
      const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
      const out = [...dims];
      out[axis] = ins.reduce((s, c) => s + c.dims[axis]!, 0);
      const data: number[] = [];
      const parts = ins.map(values);
      for (let o = 0; o < outer; o++) {
        ins.forEach((c, k) => {
          const block = c.dims.slice(axis).reduce((a, b) => a * b, 1);
          for (let i = 0; i < block; i++) data.push(parts[k]![o * block + i]!);
        });
      }
      return { data, dims: out };
    }
    case 'Slice': {
      // Ends of ±2⁶³ (slice to the end) are beyond 2⁵³ but clamp to the axis anyway.
      const big = (c: ConstTensor | undefined) => (c && (c.dataType === 7 || c.dataType === 6) ? constNumbers(c).map((v) => Math.max(-(2 ** 53), Math.min(2 ** 53, v))) : undefined);
      const starts = big(ins[1]);
      const ends = big(ins[2]);
      if (!starts || !ends) return undefined;
      const axes = ins[3] ? constInts(ins[3]) : starts.map((_, i) => i);
      const steps = ins[4] ? constInts(ins[4]) : starts.map(() => 1);
      if (!axes || !steps || steps.some((s) => s === 0)) return undefined;
      // Per axis, the indices the slice keeps (ONNX clamping of starts and ends, negative steps included).
      const keep = dims.map((d) => Array.from({ length: d }, (_, i) => i));
      axes.forEach((a0, k) => {
        const a = norm(a0, dims.length);
        const d = dims[a]!;
        const step = steps[k]!;
        const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
        const s = step > 0 ? clamp(starts[k]!, 0, d) : clamp(starts[k]!, -1, d - 1);
        const e = step > 0 ? clamp(ends[k]!, 0, d) : clamp(ends[k]!, -1, d - 1);
        const idx: number[] = [];
        for (let i = s; step > 0 ? i < e : i > e; i += step) idx.push(i);
        keep[a] = idx;
      });
      const out = keep.map((k) => k.length);
      const src = values(x);
      const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
      const data: number[] = [];
      const walk = (axis: number, offset: number) => {
        if (axis === dims.length) {
          data.push(src[offset]!);
          return;
        }
        for (const i of keep[axis]!) walk(axis + 1, offset + i * strides[axis]!);
      };
      if (numel(out) > 0) walk(0, 0);
      return { data, dims: out };
    }
    default:
      return undefined;
  }
}
