import { TensorProto_DataType as DT, type NodeProto, type TensorProto } from 'onnx-buf';
import { floatTensor } from '../onnx/tensor.js';
import { quantizedValues } from '../onnx/quantized.js';
import { attrInt, copyAttrs, getAttr, makeNode } from '../onnx/attributes.js';
import type { Graph } from '../ir/graph.js';
import type { Canonicalizer, CanonReport } from './types.js';

/**
 * Quantised models are explained in float32: quantisation is a storage and speed format, and relevance through
 * integer arithmetic is not defined. This canonicaliser rewrites the quantised parts of a graph to their float
 * equivalents, stating each rewrite:
 *  - `DequantizeLinear` of constant integers → a float32 initializer (the dequantised weights);
 *  - `QLinearConv` / `QLinearMatMul` (QOperator format) → DequantizeLinear → Conv/MatMul with dequantised weights (and
 *    bias) → QuantizeLinear, whose Q/DQ pairs the next rule removes;
 *  - `QuantizeLinear` → `DequantizeLinear` with the same scale and zero point (QDQ format) → the float tensor itself:
 *    activation rounding is not simulated;
 *  - `DynamicQuantizeLinear` feeding `ConvInteger` / `MatMulInteger` → `Cast` → × (x_scale · w_scale) (what
 *    onnxruntime's dynamic quantisation writes) → Conv/MatMul of the float input with the zero-point-corrected integer
 *    weights, the x_scale factor replaced by 1 (x ≈ (x_q − x_zp)·x_scale, so the product is the same map in float).
 * The explained function is the float model the quantised one approximates, not its integer arithmetic.
 */
export const dequantize: Canonicalizer = {
  name: 'dequantize',
  apply(g: Graph) {
    const reports: CanonReport[] = [];
    const report = (node: NodeProto, detail: string): void => void reports.push({ canonicalizer: 'dequantize', node: node.name || node.output[0]!, detail });
    // Each rule may expose work for another (QLinearConv → Q/DQ pairs → pairs removed); repeat until nothing changes.
    for (let changed = true; changed; ) {
      changed = false;
      for (const n of [...g.nodes]) {
        const did =
          n.opType === 'QLinearConv' || n.opType === 'QLinearMatMul'
            ? qlinear(g, n, report)
            : n.opType === 'ConvInteger' || n.opType === 'MatMulInteger'
              ? integerOp(g, n, report)
              : n.opType === 'DequantizeLinear'
                ? dequantizeConstant(g, n, report) || removePair(g, n, report) || hoistAboveMovement(g, n)
                : false;
        if (did) {
          changed = true;
          break;
        }
      }
    }
    if (reports.length) {
      removeDead(g);
      g.sortTopologically();
      g.reindex();
      g.pruneInitializers();
    }
    return reports;
  },
};

type Report = (node: NodeProto, detail: string) => void;

/** The constant of a tensor as integers (any integer type), or undefined when it is not a constant. */
function intConstant(g: Graph, name: string | undefined): { dims: number[]; values: Float64Array; type: number } | undefined {
  if (!name) return undefined;
  const init = g.initializer(name);
  if (init && !g.inputs.some((i) => i.name === name)) return withType(quantizedValues(init), init.dataType);
  const p = g.producer(name);
  const t = p?.opType === 'Constant' ? getAttr(p, 'value')?.t : undefined;
  return t ? withType(quantizedValues(t as TensorProto), t.dataType) : undefined;
}

const withType = <T extends object>(v: T | undefined, type: number): (T & { type: number }) | undefined => (v ? { ...v, type } : undefined);

/** A float constant (scale) as float64 values. */
function floatConstant(g: Graph, name: string | undefined): { dims: number[]; values: Float64Array } | undefined {
  if (!name) return undefined;
  const c = g.constant(name);
  if (!c || !(c.data instanceof Float32Array || c.data instanceof Float64Array)) return undefined;
  return { dims: c.dims, values: Float64Array.from(c.data) };
}

/**
 * (q − zp)·scale, per tensor or per slice along `axis` (scale and zero point 1-D of that axis' length), as float32.
 * A missing zero point is 0.
 */
function dequantizeValues(q: { dims: number[]; values: Float64Array }, scale: Float64Array, zp: Float64Array | undefined, axis: number): Float32Array {
  const out = new Float32Array(q.values.length);
  if (scale.length === 1 && (!zp || zp.length === 1)) {
    const s = scale[0]!;
    const z = zp?.[0] ?? 0;
    for (let i = 0; i < out.length; i++) out[i] = (q.values[i]! - z) * s;
    return out;
  }
  const a = axis < 0 ? axis + q.dims.length : axis;
  const inner = q.dims.slice(a + 1).reduce((x, y) => x * y, 1);
  const len = q.dims[a]!;
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / inner) % len;
    out[i] = (q.values[i]! - (zp ? zp[zp.length === 1 ? 0 : c]! : 0)) * scale[scale.length === 1 ? 0 : c]!;
  }
  return out;
}

function addFloat(g: Graph, base: string, data: Float32Array, dims: readonly number[]): string {
  return g.addInitializer(floatTensor(g.fresh(base), data, dims, false));
}

/** DequantizeLinear of a constant → the dequantised float32 initializer. */
function dequantizeConstant(g: Graph, n: NodeProto, report: Report): boolean {
  const q = intConstant(g, n.input[0]);
  const scale = floatConstant(g, n.input[1]);
  const zp = n.input[2] ? intConstant(g, n.input[2]) : undefined;
  if (!q || !scale || (n.input[2] && !zp)) return false;
  const out = n.output[0]!;
  const name = addFloat(g, `${n.input[0]}_dequantized`, dequantizeValues(q, scale.values, zp?.values, attrInt(n, 'axis', 1)), q.dims);
  if (g.isGraphOutput(out)) g.addNode(makeNode('Identity', [name], [out], g.fresh(`${n.name || out}_identity`)));
  else g.replaceUses(out, name);
  g.removeNodes(new Set([n]));
  report(n, `DequantizeLinear of the constant '${n.input[0]}' folded into float32 weights`);
  return true;
}

/** Whether two tensors are the same value: the same name, or constants with equal values. */
function sameValue(g: Graph, a: string | undefined, b: string | undefined): boolean {
  if ((a ?? '') === (b ?? '')) return true;
  const ca = a ? (intConstant(g, a) ?? floatConstant(g, a)) : { dims: [], values: Float64Array.of(0) };
  const cb = b ? (intConstant(g, b) ?? floatConstant(g, b)) : { dims: [], values: Float64Array.of(0) };
  return !!ca && !!cb && ca.values.length === cb.values.length && ca.values.every((v, i) => v === cb.values[i]);
}

/** The integer range of a quantised type (QuantizeLinear's output is uint8 when it has no zero point). */
const RANGE: Partial<Record<number, [number, number]>> = { [DT.UINT8]: [0, 255], [DT.INT8]: [-128, 127], [DT.UINT16]: [0, 65535], [DT.INT16]: [-32768, 32767] };

/**
 * DequantizeLinear(QuantizeLinear(t, s, zp), s, zp) → Clip(t, (q_min − zp)·s, (q_max − zp)·s): the rounding goes, the
 * saturation stays — QOperator and QDQ models fuse ReLU into an output range that starts at the zero point.
 */
function removePair(g: Graph, dq: NodeProto, report: Report): boolean {
  const q = g.producer(dq.input[0]!);
  if (!q || q.opType !== 'QuantizeLinear') return false;
  if (!sameValue(g, q.input[1], dq.input[1]) || !sameValue(g, q.input[2], dq.input[2]) || attrInt(q, 'axis', 1) !== attrInt(dq, 'axis', 1)) return false;
  const scale = floatConstant(g, q.input[1]);
  const zp = q.input[2] ? intConstant(g, q.input[2]) : { dims: [], values: Float64Array.of(0), type: DT.UINT8 };
  const range = zp ? RANGE[zp.type] : undefined;
  // A per-axis activation range would need a broadcast Clip; such models are refused rather than explained wrongly.
  if (!scale || !zp || !range || scale.values.length !== 1 || zp.values.length !== 1) return false;
  const [lo, hi] = range.map((v) => (v - zp.values[0]!) * scale.values[0]!) as [number, number];
  const t = q.input[0]!;
  const out = dq.output[0]!;
  const bounds = [addFloat(g, `${t}_range_min`, Float32Array.of(lo), []), addFloat(g, `${t}_range_max`, Float32Array.of(hi), [])];
  g.addNode(makeNode('Clip', [t, ...bounds], [out], g.fresh(`${dq.name || out}_range`)));
  g.removeNodes(new Set([dq]));
  g.sortTopologically();
  g.reindex();
  report(dq, `QuantizeLinear '${q.name}' → DequantizeLinear replaced by Clip to its range [${lo.toPrecision(4)}, ${hi.toPrecision(4)}]: '${t}' stays float32 (activation rounding is not simulated, saturation is)`);
  return true;
}

/** Ops that only move or reshape values: dequantising before or after them is the same (per-tensor scale). */
const MOVEMENT = new Set(['Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity']);

/**
 * DequantizeLinear(movement(u)) → movement(DequantizeLinear(u)) for a per-tensor scale, so that a QuantizeLinear
 * above the movement meets its DequantizeLinear (QOperator models flatten or reshape their uint8 tensors).
 */
function hoistAboveMovement(g: Graph, dq: NodeProto): boolean {
  const mv = g.producer(dq.input[0]!);
  if (!mv || !MOVEMENT.has(mv.opType) || mv.output.length !== 1) return false;
  const scale = floatConstant(g, dq.input[1]);
  if (!scale || scale.values.length !== 1) return false;
  const d = g.fresh(`${mv.input[0]}_dequantized`);
  g.addNode(makeNode('DequantizeLinear', [mv.input[0]!, ...dq.input.slice(1)], [d], g.fresh(`${dq.name || 'dq'}_hoisted`)));
  const copy = makeNode(mv.opType, [d, ...mv.input.slice(1)], [dq.output[0]!], g.fresh(`${mv.name || mv.opType}_float`));
  copy.attribute = copyAttrs(mv);
  g.removeNodes(new Set([dq]));
  g.addNode(copy);
  g.sortTopologically();
  g.reindex();
  return true;
}

/** QLinearConv / QLinearMatMul with constant weights → DequantizeLinear → Conv/MatMul (float weights) → QuantizeLinear. */
function qlinear(g: Graph, n: NodeProto, report: Report): boolean {
  const conv = n.opType === 'QLinearConv';
  const [x, xs, xzp, w, ws, wzp, ys, yzp, b] = n.input;
  const wq = intConstant(g, w);
  const wScale = floatConstant(g, ws);
  const wZero = wzp ? intConstant(g, wzp) : undefined;
  if (!wq || !wScale || (wzp && !wZero)) return false;
  // Conv weights are per output channel (axis 0); MatMul's B per column (its last axis).
  const axis = conv ? 0 : wq.dims.length - 1;
  const wf = addFloat(g, `${w}_dequantized`, dequantizeValues(wq, wScale.values, wZero?.values, axis), wq.dims);
  const inputs = [g.fresh(`${x}_dequantized`), wf];
  if (conv && b) {
    // The int32 bias is in units of x_scale · w_scale (per output channel).
    const bias = intConstant(g, b);
    const xScale = floatConstant(g, xs);
    if (!bias || !xScale || xScale.values.length !== 1) return false;
    inputs.push(addFloat(g, `${b}_dequantized`, Float32Array.from(bias.values, (v, o) => v * xScale.values[0]! * wScale.values[wScale.values.length === 1 ? 0 : o]!), bias.dims));
  }
  const yf = g.fresh(`${n.output[0]}_float`);
  g.addNode(makeNode('DequantizeLinear', [x!, xs!, ...(xzp ? [xzp] : [])], [inputs[0]!], g.fresh(`${n.name || 'qlinear'}_dq`)));
  const op = makeNode(conv ? 'Conv' : 'MatMul', inputs, [yf], g.fresh(`${n.name || 'qlinear'}_float`));
  if (conv) op.attribute = copyAttrs(n);
  g.addNode(op);
  g.addNode(makeNode('QuantizeLinear', [yf, ys!, ...(yzp ? [yzp] : [])], [n.output[0]!], g.fresh(`${n.name || 'qlinear'}_q`)));
  g.removeNodes(new Set([n]));
  g.sortTopologically();
  g.reindex();
  report(n, `${n.opType} → ${conv ? 'Conv' : 'MatMul'} with dequantised float32 weights between DequantizeLinear and QuantizeLinear`);
  return true;
}

/**
 * DynamicQuantizeLinear(x) → ConvInteger/MatMulInteger(x_q, W_q, x_zp, w_zp) → Cast(float) → Mul by x_scale · c (c a
 * constant per output channel, possibly reshaped) [→ Add of a constant per-channel bias, for Conv]: becomes one
 * Conv/MatMul of the float input with the weights (W_q − w_zp)·c (and the bias), since x ≈ (x_q − x_zp)·x_scale.
 * When the rescaling product is not of that form, x_scale is replaced by 1 in it and the integer weights are only
 * zero-point corrected: the same function (and gradient), but LRP's rules then see the rescaling and the bias as
 * layers of their own.
 */
function integerOp(g: Graph, n: NodeProto, report: Report): boolean {
  const conv = n.opType === 'ConvInteger';
  const dql = g.producer(n.input[0]!);
  if (!dql || dql.opType !== 'DynamicQuantizeLinear' || (n.input[2] && n.input[2] !== dql.output[2])) return false;
  const wq = intConstant(g, n.input[1]);
  const wZero = n.input[3] ? intConstant(g, n.input[3]) : undefined;
  if (!wq || (n.input[3] && !wZero)) return false;
  const casts = g.consumers(n.output[0]!);
  if (casts.length !== 1 || casts[0]!.opType !== 'Cast' || attrInt(casts[0]!, 'to', 0) !== 1 || g.isGraphOutput(n.output[0]!)) return false;
  const cast = casts[0]!;
  const xScale = dql.output[1]!;
  // Every use of x_scale must be a product (Mul) so that dropping it from there is exact.
  const scaleUses = g.consumers(xScale);
  if (scaleUses.length === 0 || scaleUses.some((u) => u.opType !== 'Mul')) return false;
  const axis = conv ? 0 : wq.dims.length - 1;
  const channels = wq.dims[axis]!;
  const op = makeNode(conv ? 'Conv' : 'MatMul', [dql.input[0]!], [], g.fresh(`${n.name || 'integer'}_float`));
  if (conv) op.attribute = copyAttrs(n);
  const removed = new Set([n, cast]);
  const folded = foldableRescale(g, cast.output[0]!, xScale, channels);
  let detail: string;
  if (folded) {
    op.input.push(addFloat(g, `${n.input[1]}_dequantized`, dequantizeValues(wq, folded.scale, wZero?.values, axis), wq.dims));
    let out = folded.mul.output[0]!;
    removed.add(folded.mul);
    const add = conv && !g.isGraphOutput(out) ? g.consumers(out) : [];
    const bias = add.length === 1 && add[0]!.opType === 'Add' ? channelConstant(g, add[0]!.input.find((i) => i !== out), channels) : undefined;
    if (bias) {
      op.input.push(addFloat(g, `${n.name || 'conv'}_bias`, Float32Array.from(bias), [channels]));
      out = add[0]!.output[0]!;
      removed.add(add[0]!);
    }
    op.output = [out];
    detail = `→ ${op.opType} of the float input with the dequantised weights${bias ? ' and bias' : ''}`;
  } else {
    op.input.push(addFloat(g, `${n.input[1]}_zero_corrected`, dequantizeValues(wq, Float64Array.of(1), wZero?.values, axis), wq.dims));
    op.output = [cast.output[0]!];
    const one = addFloat(g, 'dynamic_quantization_unit_scale', Float32Array.of(1), []);
    for (const u of scaleUses) u.input = u.input.map((i) => (i === xScale ? one : i));
    detail = `→ ${op.opType} of the float input with zero-point-corrected weights (x_scale dropped from the rescaling product)`;
  }
  g.removeNodes(removed);
  g.addNode(op);
  g.sortTopologically();
  g.reindex();
  report(n, `DynamicQuantizeLinear '${dql.name}' + ${n.opType} ${detail}`);
  return true;
}

/**
 * The Mul that rescales the integer product, when its factor is x_scale · c with c a constant of 1 or `channels`
 * values (reshaped or not): c per output channel.
 */
function foldableRescale(g: Graph, product: string, xScale: string, channels: number): { mul: NodeProto; scale: Float64Array } | undefined {
  const users = g.consumers(product);
  if (users.length !== 1 || users[0]!.opType !== 'Mul' || g.isGraphOutput(product)) return undefined;
  const mul = users[0]!;
  let factor = g.producer(mul.input.find((i) => i !== product) ?? '');
  while (factor && (factor.opType === 'Reshape' || factor.opType === 'Unsqueeze' || factor.opType === 'Identity') && g.consumers(factor.output[0]!).length === 1) factor = g.producer(factor.input[0]!);
  if (!factor || factor.opType !== 'Mul' || !factor.input.includes(xScale) || g.consumers(factor.output[0]!).length !== 1) return undefined;
  const c = floatConstant(g, factor.input.find((i) => i !== xScale));
  if (!c || (c.values.length !== 1 && c.values.length !== channels)) return undefined;
  return { mul, scale: c.values };
}

/** Reshape(constant, constant shape) — how onnxruntime's quantiser writes a Conv bias — as its values and new dims. */
function reshapedConstant(g: Graph, name: string | undefined): { dims: number[]; values: Float64Array } | undefined {
  const p = name ? g.producer(name) : undefined;
  if (!p || p.opType !== 'Reshape') return undefined;
  const data = floatConstant(g, p.input[0]);
  const shape = g.constant(p.input[1] ?? '');
  if (!data || !shape || !(shape.data instanceof BigInt64Array)) return undefined;
  const dims = Array.from(shape.data, Number).map((d, i) => (d === 0 ? (data.dims[i] ?? 1) : d));
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const resolved = dims.map((d) => (d === -1 ? data.values.length / known : d));
  return resolved.reduce((a, b) => a * b, 1) === data.values.length ? { dims: resolved, values: data.values } : undefined;
}

/** A constant holding one value per channel (shapes [C], [1, C, 1, 1], [C, 1, 1] …), or undefined. */
function channelConstant(g: Graph, name: string | undefined, channels: number): Float64Array | undefined {
  const c = floatConstant(g, name) ?? reshapedConstant(g, name);
  if (!c || c.values.length !== channels || c.dims.filter((d) => d !== 1).length > 1) return undefined;
  // Per channel means along axis 1 of NCHW: [C] would broadcast along W instead, so only shapes with C at axis 1 count.
  if (c.dims.length !== 4 && c.dims.length !== 3) return undefined;
  const axisOfC = c.dims.length - 3;
  return c.dims[axisOfC] === channels ? c.values : undefined;
}

/** Removes nodes none of whose outputs is used (the DynamicQuantizeLinear / QuantizeLinear left behind). */
function removeDead(g: Graph): void {
  for (;;) {
    const dead = new Set(g.nodes.filter((n) => n.output.every((o) => !o || (g.consumers(o).length === 0 && !g.isGraphOutput(o)))));
    if (dead.size === 0) return;
    g.removeNodes(dead);
  }
}
