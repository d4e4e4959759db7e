import { attrFloat, attrInt } from '../onnx/attributes.js';
import { constNumbers } from '../onnx/tensor.js';
import { defaultOpset } from '../onnx/model.js';
import type { NodeProto } from 'onnx-buf';
import type { Vjp, VjpContext } from './context.js';
import { always, sameAsInput, type NonNegRule, type OpSpec } from './op.js';

type Unary = (ctx: VjpContext, x: string, y: string, g: string, attrs: { node: Parameters<Vjp>[1] }) => string;

/** Builds a Vjp for a single-input element-wise op from the formula of its derivative. */
function unary(f: Unary): Vjp {
  return (ctx, node, [g]) => (g ? [f(ctx, node.input[0]!, node.output[0]!, g, { node })] : [undefined]);
}

// PyTorch's convention at the kink: relu'(0) = 0. The mask is read from the output (y > 0 ⟺ x > 0): then the
// pre-activation has one consumer and ONNX Runtime can still fuse the ReLU into the convolution before it.
const relu = unary(({ em }, _x, y, g) => em.op('Where', [em.op('Greater', [y, em.scalar(0)]), g, em.scalar(0)], {}, 'relu_grad'));

const leakyRelu = unary(({ em }, x, _y, g, { node }) => {
  const alpha = attrFloat(node, 'alpha', 0.01);
  return em.op('Where', [em.op('Greater', [x, em.scalar(0)]), g, em.mul(g, em.scalar(alpha))], {}, 'lrelu_grad');
});

const sigmoid = unary(({ em }, _x, y, g) => em.mul(g, em.mul(y, em.sub(em.scalar(1), y))));
const tanh = unary(({ em }, _x, y, g) => em.mul(g, em.sub(em.scalar(1), em.mul(y, y))));

const hardSigmoid = unary(({ em }, x, _y, g, { node }) => {
  const alpha = attrFloat(node, 'alpha', 0.2);
  const beta = attrFloat(node, 'beta', 0.5);
  const t = em.add(em.mul(x, em.scalar(alpha)), em.scalar(beta));
  const inside = em.op('And', [em.op('Greater', [t, em.scalar(0)]), em.op('Less', [t, em.scalar(1)])]);
  return em.op('Where', [inside, em.mul(g, em.scalar(alpha)), em.scalar(0)]);
});

// HardSwish(x) = x·hardsigmoid(x) with α = 1/6, β = 0.5; derivative (2x+3)/6 inside (−3, 3).
const hardSwish = unary(({ em }, x, _y, g) => {
  const inside = em.op('And', [em.op('Greater', [x, em.scalar(-3)]), em.op('Less', [x, em.scalar(3)])]);
  const d = em.op('Where', [inside, em.add(em.mul(x, em.scalar(1 / 3)), em.scalar(0.5)), em.op('Cast', [em.op('GreaterOrEqual', [x, em.scalar(3)])], { to: { int: 1 } })]);
  return em.mul(g, d);
});

const elu = unary(({ em }, x, y, g, { node }) => {
  const alpha = attrFloat(node, 'alpha', 1);
  return em.op('Where', [em.op('Greater', [x, em.scalar(0)]), g, em.mul(g, em.add(y, em.scalar(alpha)))]);
});

const selu = unary(({ em }, x, y, g, { node }) => {
  const alpha = attrFloat(node, 'alpha', 1.67326319217681884765625);
  const gamma = attrFloat(node, 'gamma', 1.05070102214813232421875);
  return em.op('Where', [em.op('Greater', [x, em.scalar(0)]), em.mul(g, em.scalar(gamma)), em.mul(g, em.add(y, em.scalar(alpha * gamma)))]);
});

const softplus = unary(({ em }, x, _y, g) => em.mul(g, em.op('Sigmoid', [x])));
const softsign = unary(({ em }, x, _y, g) => {
  const d = em.add(em.scalar(1), em.op('Abs', [x]));
  return em.div(g, em.mul(d, d));
});

// Erf'(x) = 2/√π · exp(−x²)
const erf = unary(({ em }, x, _y, g) => em.mul(g, em.mul(em.scalar(2 / Math.sqrt(Math.PI)), em.op('Exp', [em.op('Neg', [em.mul(x, x)])]))));

// GELU (exact): Φ(x) + x·φ(x); tanh approximation differentiated exactly as well.
const gelu = unary(({ em }, x, _y, g, { node }) => {
  const approx = node.attribute.find((a) => a.name === 'approximate');
  if (approx && new TextDecoder().decode(approx.s) === 'tanh') {
    const c = Math.sqrt(2 / Math.PI);
    const x3 = em.mul(em.mul(x, x), x);
    const inner = em.mul(em.scalar(c), em.add(x, em.mul(em.scalar(0.044715), x3)));
    const th = em.op('Tanh', [inner]);
    const dInner = em.mul(em.scalar(c), em.add(em.scalar(1), em.mul(em.scalar(3 * 0.044715), em.mul(x, x))));
    const d = em.add(em.mul(em.scalar(0.5), em.add(em.scalar(1), th)), em.mul(em.mul(em.scalar(0.5), x), em.mul(em.sub(em.scalar(1), em.mul(th, th)), dInner)));
    return em.mul(g, d);
  }
  const cdf = em.mul(em.scalar(0.5), em.add(em.scalar(1), em.op('Erf', [em.mul(x, em.scalar(Math.SQRT1_2))])));
  const pdf = em.mul(em.scalar(1 / Math.sqrt(2 * Math.PI)), em.op('Exp', [em.mul(em.scalar(-0.5), em.mul(x, x))]));
  return em.mul(g, em.add(cdf, em.mul(x, pdf)));
});

/** Clip passes the cotangent strictly inside (min, max), as PyTorch's hardtanh/ReLU6 backward does. */
const clip: Vjp = (ctx, node, [g]) => {
  const { em, g: graph } = ctx;
  if (!g) return node.input.map(() => undefined);
  const x = node.input[0]!;
  let lo: number | undefined;
  let hi: number | undefined;
  if (defaultOpset(graph.model) < 11) {
    lo = attrFloat(node, 'min', -Infinity);
    hi = attrFloat(node, 'max', Infinity);
  } else {
    const l = node.input[1] ? graph.constant(node.input[1]) : undefined;
    const h = node.input[2] ? graph.constant(node.input[2]) : undefined;
    lo = l ? constNumbers(l)[0] : node.input[1] ? undefined : -Infinity;
    hi = h ? constNumbers(h)[0] : node.input[2] ? undefined : Infinity;
  }
  let mask: string | undefined;
  const conds: string[] = [];
  if (lo === undefined) conds.push(em.op('Greater', [x, node.input[1]!]));
  else if (lo !== -Infinity) conds.push(em.op('Greater', [x, em.scalar(lo)]));
  if (hi === undefined) conds.push(em.op('Less', [x, node.input[2]!]));
  else if (hi !== Infinity) conds.push(em.op('Less', [x, em.scalar(hi)]));
  if (conds.length === 2) mask = em.op('And', conds);
  else mask = conds[0];
  return [mask ? em.op('Where', [mask, g, em.scalar(0)]) : g, undefined, undefined];
};

// The slope is a learned constant: only the input gets a cotangent.
const prelu: Vjp = (ctx, node, [g]) => {
  const { em } = ctx;
  if (!g) return [undefined, undefined];
  const x = node.input[0]!;
  const slope = node.input[1]!;
  return [em.op('Where', [em.op('Greater', [x, em.scalar(0)]), g, em.mul(g, slope)]), undefined];
};

/** Softmax (opset ≥ 13 semantics: one axis): dx = y ⊙ (g − Σ g⊙y). */
const softmax: Vjp = (ctx, node, [g]) => {
  const { em, g: graph } = ctx;
  if (!g) return [undefined];
  const y = node.output[0]!;
  const axis = attrInt(node, 'axis', defaultOpset(graph.model) >= 13 ? -1 : 1);
  if (defaultOpset(graph.model) < 13) {
    // Older opsets normalise over all axes from `axis` on (coerced to 2-D); differentiate in that 2-D view.
    const flat = em.op('Flatten', [g], { axis: { int: axis } });
    const yf = em.op('Flatten', [y], { axis: { int: axis } });
    const dot = em.op('ReduceSum', [em.mul(flat, yf), em.ints([1])], { keepdims: { int: 1 } });
    return [em.op('Reshape', [em.mul(yf, em.sub(flat, dot)), em.shapeOf(g)])];
  }
  const dot = em.op('ReduceSum', [em.mul(g, y), em.ints([axis])], { keepdims: { int: 1 } });
  return [em.mul(y, em.sub(g, dot))];
};

const logSoftmax: Vjp = (ctx, node, [g]) => {
  const { em } = ctx;
  if (!g) return [undefined];
  const axis = attrInt(node, 'axis', -1);
  const p = em.op('Exp', [node.output[0]!]);
  const s = em.op('ReduceSum', [g, em.ints([axis])], { keepdims: { int: 1 } });
  return [em.sub(g, em.mul(p, s))];
};


// --- the activation family in the op registry ----------------------------------------------------------------------

/** Clip is non-negative when its lower bound (an input from opset 11 on, an attribute before) is. */
const clipNonNeg: NonNegRule = ({ g }, p) => {
  const minName = p.input[1];
  if (minName) {
    const c = g.constant(minName);
    return c !== undefined && constNumbers(c)[0]! >= 0;
  }
  return attrFloat(p, 'min', -Infinity) >= 0;
};

const activation = (vjp: Vjp | undefined, extra: Partial<OpSpec> = {}): OpSpec => ({ kind: 'activation', vjp, shape: sameAsInput, ...extra });

export const activationOps: Record<string, OpSpec> = {
  Relu: activation(relu, { nonNegative: always, inActivationPattern: true }),
  // LeakyRelu with slope 0 is a ReLU.
  LeakyRelu: activation(leakyRelu, { nonNegative: (ctx, p) => attrFloat(p, 'alpha', 0.01) === 0 && ctx.check(p.input[0]!), inActivationPattern: true }),
  PRelu: activation(prelu),
  Sigmoid: activation(sigmoid, { nonNegative: always, inActivationPattern: true }),
  Tanh: activation(tanh, { inActivationPattern: true }),
  HardSigmoid: activation(hardSigmoid, { nonNegative: always, inActivationPattern: true }),
  HardSwish: activation(hardSwish),
  Elu: activation(elu, { inActivationPattern: true }),
  Selu: activation(selu),
  Celu: activation(undefined),
  Softplus: activation(softplus, { nonNegative: always, inActivationPattern: true }),
  Softsign: activation(softsign),
  Gelu: activation(gelu),
  Mish: activation(undefined),
  ThresholdedRelu: activation(undefined),
  Clip: activation(clip, { nonNegative: clipNonNeg, inActivationPattern: true }),
  // Not a unit of its own (erf is one node of GELU's formula), but element-wise.
  Erf: { kind: 'elementwise', vjp: erf, shape: sameAsInput, inActivationPattern: true },
  Softmax: { kind: 'normalization', vjp: softmax, shape: sameAsInput, nonNegative: always },
  LogSoftmax: { kind: 'normalization', vjp: logSoftmax, shape: sameAsInput },
};

/**
 * The activations recognised when written out as several element-wise nodes (canonicalize/activations.ts finds the
 * region; this names it by the ops inside), first match wins.
 */
export const ACTIVATION_PATTERNS: readonly { name: string; matches: (ops: ReadonlySet<string>, nodes: readonly NodeProto[]) => boolean }[] = [
  { name: 'GELU', matches: (ops) => ops.has('Erf') },
  { name: 'Mish', matches: (ops) => ops.has('Tanh') && ops.has('Softplus') },
  { name: 'GELU(tanh)', matches: (ops, nodes) => ops.has('Tanh') && (ops.has('Pow') || nodes.filter((n) => n.opType === 'Mul').length >= 3) },
  { name: 'HardSwish', matches: (ops) => ops.has('HardSigmoid') },
  { name: 'SiLU', matches: (ops) => ops.has('Sigmoid') && ops.has('Mul') },
  { name: 'HardSwish', matches: (ops) => (ops.has('Clip') || ops.has('Relu')) && ops.has('Add') && ops.has('Mul') },
];
