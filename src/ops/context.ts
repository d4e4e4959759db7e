import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import type { Dim, ValueInfo } from '../ir/shapes.js';
import type { Emitter } from '../ir/emitter.js';
import { UnsupportedModelError, UnsupportedNodeError } from '../errors.js';

/** See CompileOptions.maxPoolRouting. */
export type MaxPoolRouting = 'indices' | 'compare';

export interface VjpContext {
  g: Graph;
  em: Emitter;
  info: Map<string, ValueInfo>;
  /** Default 'indices'. */
  maxPoolRouting?: MaxPoolRouting;
}

/**
 * The vector-Jacobian product of one ONNX node: given the cotangents of its outputs (undefined = zero), return the
 * cotangent of each input whose `needs` flag is set. One small function per op type, gathered in a registry.
 */
export type Vjp = (ctx: VjpContext, node: NodeProto, gOut: (string | undefined)[], needs: boolean[]) => (string | undefined)[];

export function shapeOf(ctx: VjpContext, t: string): Dim[] | undefined {
  return ctx.info.get(t)?.shape;
}

export function staticShape(ctx: VjpContext, t: string): number[] | undefined {
  const s = shapeOf(ctx, t);
  return s && s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
}

export function unsupported(node: NodeProto, message: string, hint?: string): never {
  throw new UnsupportedNodeError(node.name || node.output[0] || '?', node.opType, message, hint);
}

/**
 * Reduces a cotangent of the broadcast output back to the shape of one operand. Uses static shapes where known;
 * with symbolic dims of equal rank it reduces over the axes where the shapes differ, computed at run time.
 */
export function unbroadcast(ctx: VjpContext, grad: string, operand: string, output: string): string {
  const inShape = shapeOf(ctx, operand);
  const outShape = shapeOf(ctx, output);
  if (inShape && outShape && inShape.length === outShape.length && inShape.every((d, i) => d === outShape[i] && d !== null)) return grad;
  if (!inShape || !outShape) {
    // Unknown rank: only safe when the operand is not broadcast, which is what non-constant operands almost always are.
    return grad;
  }
  const { em } = ctx;
  const lead = outShape.length - inShape.length;
  // Broadcasting only adds leading axes: an operand of higher rank than the result means the model is invalid.
  if (lead < 0) throw new UnsupportedModelError(`'${operand}' has rank ${inShape.length}, but '${output}', which it is broadcast into, has rank ${outShape.length}`, 'the model is invalid ONNX; check it with onnx.checker and export it again');
  let g = grad;
  const staticAxes: number[] = [];
  for (let i = 0; i < lead; i++) staticAxes.push(i);
  let dynamic = false;
  inShape.forEach((d, i) => {
    const od = outShape[i + lead];
    if (d === 1 && od !== 1) staticAxes.push(i + lead);
    else if (d !== od && (d === null || od === null || typeof d === 'string' || typeof od === 'string')) dynamic = true;
  });
  if (staticAxes.length) g = em.op('ReduceSum', [g, em.ints(staticAxes)], { keepdims: { int: 1 } }, 'unbroadcast');
  if (dynamic) {
    const differs = em.op('Not', [em.op('Equal', [em.shapeOf(g), em.op('Concat', [em.ints(new Array<number>(lead).fill(1)), em.shapeOf(operand)].filter((_, k) => lead > 0 || k === 1), { axis: { int: 0 } })])]);
    const axes = em.op('Reshape', [em.op('NonZero', [differs]), em.ints([-1])]);
    g = em.op('ReduceSum', [g, axes], { keepdims: { int: 1 }, noop_with_empty_axes: { int: 1 } }, 'unbroadcast');
  }
  if (lead > 0) g = em.op('Reshape', [g, em.shapeOf(operand)]);
  return g;
}

/** Reshapes a cotangent back to the shape of x, computed at run time. */
export function reshapeLike(ctx: VjpContext, grad: string, x: string): string {
  return ctx.em.op('Reshape', [grad, ctx.em.shapeOf(x)]);
}
