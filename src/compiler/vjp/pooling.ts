import type { NodeProto } from 'onnx-buf';
import { attrInt, attrInts } from '../../onnx/attributes.js';
import { convTransposeOf } from './linear.js';
import { unsupported, type Vjp, type VjpContext } from './context.js';

/** A zero-filled flat tensor with as many elements as x. */
function zerosFlat(ctx: VjpContext, x: string): string {
  const { em } = ctx;
  return em.op('ConstantOfShape', [em.op('Reshape', [em.op('Size', [x]), em.ints([1])])], {}, 'zeros');
}

/** Adds the flat cotangent `g` at the flat positions `indices` of a zero tensor shaped like x. */
export function scatterAddInto(ctx: VjpContext, x: string, indices: string, g: string, duplicates: boolean): string {
  const { em } = ctx;
  const flat = em.op('ScatterElements', [zerosFlat(ctx, x), em.op('Reshape', [indices, em.ints([-1])]), em.op('Reshape', [g, em.ints([-1])])], duplicates ? { axis: { int: 0 }, reduction: { string: 'add' } } : { axis: { int: 0 } }, 'scatter');
  return em.op('Reshape', [flat, em.shapeOf(x)]);
}

/**
 * Max pooling routes the cotangent to the arg-max of each window (overlapping windows add up), using the Indices
 * output of the forward MaxPool: it is added to the forward node, which does not change the node's first output.
 */
const maxPool: Vjp = (ctx, node, [g]) => {
  const { g: graph } = ctx;
  if (!g) return [undefined];
  if (attrInt(node, 'storage_order', 0) !== 0) unsupported(node, 'storage_order=1 is not supported', 'export with the default row-major storage order');
  const dil = attrInts(node, 'dilations');
  if (dil && dil.some((d) => d !== 1)) unsupported(node, 'dilated max pooling is not supported', undefined);
  let indices = node.output[1];
  if (!indices) {
    indices = graph.fresh(`${node.output[0]}_indices`);
    node.output.push(indices);
    graph.reindex();
  }
  return [scatterAddInto(ctx, node.input[0]!, indices, g, true)];
};

function poolKernel(node: NodeProto): number[] {
  const k = attrInts(node, 'kernel_shape');
  if (!k) unsupported(node, 'pooling without kernel_shape');
  return k;
}

/**
 * Average pooling's transpose: ConvTranspose with a ones kernel on each channel separately (channels folded into
 * the batch axis, so the channel count need not be known statically), after dividing by the window size.
 */
const averagePool: Vjp = (ctx, node, [g]) => {
  const { em } = ctx;
  if (!g) return [undefined];
  const x = node.input[0]!;
  const kernel = poolKernel(node);
  const kprod = kernel.reduce((a, b) => a * b, 1);
  const pads = attrInts(node, 'pads') ?? [];
  const countPad = attrInt(node, 'count_include_pad', 0) === 1;
  let s: string;
  if (countPad || pads.every((p) => p === 0)) s = em.mul(g, em.scalar(1 / kprod));
  else {
    // Windows that overlap the padding average over fewer elements: count them with the same pooling on ones.
    const counted = em.op('AveragePool', [em.constLike(x, 1)], {
      kernel_shape: { ints: kernel },
      strides: { ints: attrInts(node, 'strides') ?? kernel.map(() => 1) },
      pads: { ints: pads },
      count_include_pad: { int: 1 },
      ceil_mode: { int: attrInt(node, 'ceil_mode', 0) },
    });
    s = em.div(g, em.mul(counted, em.scalar(kprod)));
  }
  const folded = em.op('Reshape', [s, em.op('Concat', [em.ints([-1, 1]), em.op('Shape', [s], { start: { int: 2 } })], { axis: { int: 0 } })]);
  const xFolded = em.op('Reshape', [x, em.op('Concat', [em.ints([-1, 1]), em.op('Shape', [x], { start: { int: 2 } })], { axis: { int: 0 } })]);
  const ones = em.floats('avgpool_ones', new Float32Array(kprod).fill(1), [1, 1, ...kernel]);
  // Reuse the conv transpose logic (output padding / run-time fix-up) with a synthetic conv node.
  const pseudo = { ...node, opType: 'Conv', input: [xFolded, ones], output: [folded] } as NodeProto;
  const pseudoCtx: VjpContext = { ...ctx, info: new Map() };
  const up = convTransposeOf(pseudoCtx, pseudo, folded, ones, kernel, xFolded);
  return [em.op('Reshape', [up, em.shapeOf(x)])];
};

const globalAveragePool: Vjp = (ctx, node, [g]) => {
  const { em } = ctx;
  if (!g) return [undefined];
  const x = node.input[0]!;
  const area = em.op('Cast', [em.op('ReduceProd', [em.op('Shape', [x], { start: { int: 2 } })], { keepdims: { int: 0 } })], { to: { int: 1 } });
  return [em.op('Expand', [em.div(g, area), em.shapeOf(x)], {}, 'gap_grad')];
};

const globalMaxPool: Vjp = (ctx, node, [g]) => {
  const { em } = ctx;
  if (!g) return [undefined];
  const x = node.input[0]!;
  const nc = em.op('Shape', [x], { end: { int: 2 } });
  const flat = em.op('Reshape', [x, em.op('Concat', [nc, em.ints([-1])], { axis: { int: 0 } })]);
  const arg = em.op('ArgMax', [flat], { axis: { int: 2 }, keepdims: { int: 1 } });
  const gFlat = em.op('Reshape', [g, em.op('Concat', [nc, em.ints([1])], { axis: { int: 0 } })]);
  const zeros = em.op('ConstantOfShape', [em.shapeOf(flat)]);
  const scattered = em.op('ScatterElements', [zeros, arg, gFlat], { axis: { int: 2 } });
  return [em.op('Reshape', [scattered, em.shapeOf(x)])];
};

export const poolingVjps: Record<string, Vjp> = {
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  GlobalMaxPool: globalMaxPool,
};
