import type { NodeProto } from 'onnx-buf';
import { constInts, constNumbers } from '../onnx/tensor.js';
import { LimitExceededError } from '../errors.js';
import { MODEL_LIMITS } from '../onnx/limits.js';
import type { Graph } from '../ir/graph.js';
import { checkInferred, type Dim, type ValueInfo } from '../ir/shapes.js';
import { opSpec } from './index.js';
import type { ShapeContext, ValueContext } from './op.js';

/**
 * Static shape and type inference for the operators xsys handles, each op's rule read from the op registry. It is
 * deliberately partial: what it cannot prove is left unknown, and the compiler then emits shape-agnostic (dynamic)
 * backward ops instead. `values` receives the values of the shape-describing tensors (see propagateValue), which is
 * how an If whose condition tests a shape is decided at compile time.
 */
export function inferShapes(g: Graph, values: Map<string, Dim[]> = new Map()): Map<string, ValueInfo> {
  const info = new Map<string, ValueInfo>();
  for (const i of g.proto.input) info.set(i.name, fromValueInfo(i.type));
  for (const t of g.proto.initializer) info.set(t.name, { elemType: t.dataType, shape: validDims(t.dims.map(Number)) });
  for (const v of g.proto.valueInfo) if (!info.has(v.name)) info.set(v.name, fromValueInfo(v.type));
  for (const n of g.nodes) {
    let out: ValueInfo[];
    try {
      out = inferNode(g, n, info, values);
      propagateValue(g, n, info, values);
    } catch (e) {
      // Inference is partial by design (what it cannot prove stays unknown), but a size over the limits is refused.
      if (e instanceof LimitExceededError) throw e;
      out = [];
    }
    out = out.map((o) => ({ ...o, shape: validDims(o.shape) }));
    for (const o of out) checkInferred(n, o.shape);
    n.output.forEach((o, k) => {
      if (!o) return;
      const inferred = out[k] ?? { elemType: 0 };
      const declared = info.get(o);
      // Exporters' value_info can be more precise than what we infer (or vice versa): keep the more informative.
      if (!declared || (inferred.shape && (!declared.shape || declared.shape.some((d) => d === null)))) {
        info.set(o, { elemType: inferred.elemType || declared?.elemType || 0, shape: inferred.shape ?? declared?.shape });
      }
    });
  }
  for (const o of g.proto.output) {
    const declared = fromValueInfo(o.type);
    const have = info.get(o.name);
    if (have && !have.shape && declared.shape) info.set(o.name, { elemType: have.elemType, shape: declared.shape });
  }
  return info;
}

/**
 * A dimension is a non-negative integer. An inferred or declared one that is not (a Split of 7 into 2, a Reshape
 * whose sizes do not divide, a negative declared dim) comes from an invalid model or from a case inference does
 * not model; it becomes unknown, so no array is sized and no int64 attribute is written from it.
 */
function validDims(shape: Dim[] | undefined): Dim[] | undefined {
  return shape?.map((d) => (typeof d === 'number' && !(Number.isSafeInteger(d) && d >= 0) ? null : d));
}

function fromValueInfo(type: { value: { case?: string; value?: unknown } } | undefined): ValueInfo {
  if (type?.value.case !== 'tensorType') return { elemType: 0 };
  const tt = type.value.value as { elemType: number; shape?: { dim: { value: { case?: string; value?: unknown } }[] } };
  const shape = tt.shape?.dim.map((d): Dim => {
    if (d.value.case === 'dimValue') return Number(d.value.value as bigint);
    if (d.value.case === 'dimParam') return d.value.value as string;
    return null;
  });
  return { elemType: tt.elemType, shape: validDims(shape) };
}

/**
 * Values of small integer tensors that describe shapes (Shape → Gather → Unsqueeze → Concat …), with symbolic dims
 * kept as symbols, so a Reshape to a run-time computed shape still gets a known rank and most of its dims — what
 * PyTorch exports of attention heads look like. Each op's ValueRule computes its output from its inputs' values.
 */
function propagateValue(g: Graph, n: NodeProto, info: Map<string, ValueInfo>, values: Map<string, Dim[]>): void {
  const out = n.output[0];
  if (!out) return;
  const rule = opSpec(n.opType)?.value;
  if (!rule) return;
  const ctx: ValueContext = {
    g,
    info,
    val: (t) => {
      if (!t) return undefined;
      const v = values.get(t);
      if (v) return v;
      const c = g.constant(t);
      return c && c.dims.length <= 1 && c.data.length <= 16 ? constInts(c) : undefined;
    },
  };
  const r = rule(ctx, n);
  // Shape vectors are short; longer values are not tracked (their consumers' shapes then stay unknown).
  if (r && r.length <= MODEL_LIMITS.maxShapeValues) values.set(out, r);
}

function inferNode(g: Graph, n: NodeProto, info: Map<string, ValueInfo>, values: Map<string, Dim[]>): ValueInfo[] {
  const rule = opSpec(n.opType)?.shape;
  if (!rule) return [];
  const cnum = (k: number): number[] | undefined => {
    const c = g.constant(n.input[k] ?? '');
    // Shape-describing inputs (shapes, axes, pads, starts, splits) are integer tensors; anything else stays unknown.
    // Slice ends of ±2⁶³ ("to the end", as exporters write them) are beyond 2⁵³: clamped, they mean the same.
    if (!c) return undefined;
    return constInts(c) ?? ((c.dataType === 7 || c.dataType === 6) ? constNumbers(c).map((v) => Math.max(-(2 ** 53), Math.min(2 ** 53, v))) : undefined);
  };
  const ctx: ShapeContext = {
    g,
    inp: (k) => info.get(n.input[k] ?? '') ?? { elemType: 0 },
    cnum,
    dims: (k) => cnum(k) ?? values.get(n.input[k] ?? ''),
  };
  return rule(ctx, n);
}
