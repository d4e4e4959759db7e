import { attrInt } from '../onnx/attributes.js';
import { constNumbers } from '../onnx/tensor.js';
import { broadcastShapes, type Dim } from '../ir/shapes.js';
import { unbroadcast, unsupported, type Vjp } from './context.js';
import { allInputs, always, dynamicInputs, passValue, sameAsInput, type OpSpec, type ShapeRule, type UnitRule, type ValueRule } from './op.js';
import { productUnit } from './attention.js';

const add: Vjp = (ctx, n, [g], needs) => n.input.map((x, k) => (needs[k] && g ? unbroadcast(ctx, g, x, n.output[0]!) : undefined));

const sub: Vjp = (ctx, n, [g], needs) => [
  needs[0] && g ? unbroadcast(ctx, g, n.input[0]!, n.output[0]!) : undefined,
  needs[1] && g ? unbroadcast(ctx, ctx.em.op('Neg', [g]), n.input[1]!, n.output[0]!) : undefined,
];

const mul: Vjp = (ctx, n, [g], needs) => {
  const [a, b] = n.input as [string, string];
  return [
    needs[0] && g ? unbroadcast(ctx, ctx.em.mul(g, b), a, n.output[0]!) : undefined,
    needs[1] && g ? unbroadcast(ctx, ctx.em.mul(g, a), b, n.output[0]!) : undefined,
  ];
};

const div: Vjp = (ctx, n, [g], needs) => {
  const { em } = ctx;
  const [a, b] = n.input as [string, string];
  if (!g) return [undefined, undefined];
  return [
    needs[0] ? unbroadcast(ctx, em.div(g, b), a, n.output[0]!) : undefined,
    // d(a/b)/db = −(a/b)/b = −y/b
    needs[1] ? unbroadcast(ctx, em.op('Neg', [em.div(em.mul(g, n.output[0]!), b)]), b, n.output[0]!) : undefined,
  ];
};

const sum: Vjp = (ctx, n, [g], needs) => n.input.map((x, k) => (needs[k] && g ? unbroadcast(ctx, g, x, n.output[0]!) : undefined));

const neg: Vjp = (ctx, _n, [g]) => [g ? ctx.em.op('Neg', [g]) : undefined];

const pow: Vjp = (ctx, n, [g], needs) => {
  const { em, g: graph } = ctx;
  if (needs[1]) unsupported(n, 'the exponent depends on the input', 'only Pow with a constant exponent is differentiated');
  const e = graph.constant(n.input[1]!);
  if (!g) return [undefined];
  // d x^p = p·x^(p−1)
  if (e && e.dims.length === 0) {
    const p = constNumbers(e)[0]!;
    const d = p === 2 ? em.mul(em.scalar(2), n.input[0]!) : em.mul(em.scalar(p), em.op('Pow', [n.input[0]!, em.scalar(p - 1)]));
    return [em.mul(g, d), undefined];
  }
  const p = n.input[1]!;
  const d = em.mul(p, em.op('Pow', [n.input[0]!, em.sub(p, em.op('CastLike', [em.scalar(1), p]))]));
  return [unbroadcast(ctx, em.mul(g, d), n.input[0]!, n.output[0]!), undefined];
};

const sqrt: Vjp = (ctx, n, [g]) => (g ? [ctx.em.div(g, ctx.em.mul(ctx.em.scalar(2), n.output[0]!))] : [undefined]);
const exp: Vjp = (ctx, n, [g]) => (g ? [ctx.em.mul(g, n.output[0]!)] : [undefined]);
const log: Vjp = (ctx, n, [g]) => (g ? [ctx.em.div(g, n.input[0]!)] : [undefined]);
const reciprocal: Vjp = (ctx, n, [g]) => {
  if (!g) return [undefined];
  const y = n.output[0]!;
  return [ctx.em.op('Neg', [ctx.em.mul(g, ctx.em.mul(y, y))])];
};
const abs: Vjp = (ctx, n, [g]) => (g ? [ctx.em.mul(g, ctx.em.op('Sign', [n.input[0]!]))] : [undefined]);

/** Max/Min of tensors: the cotangent goes to the operand that was selected (ties: the first, as PyTorch). */
const maxMin: Vjp = (ctx, n, [g], needs) => {
  const { em } = ctx;
  if (!g) return n.input.map(() => undefined);
  if (n.input.length !== 2) unsupported(n, 'Max/Min of more than two tensors is not differentiated', 'split it into pairwise Max/Min');
  const [a, b] = n.input as [string, string];
  const cmp = em.op(n.opType === 'Max' ? 'GreaterOrEqual' : 'LessOrEqual', [a, b]);
  const zero = em.scalar(0);
  return [
    needs[0] ? unbroadcast(ctx, em.op('Where', [cmp, g, zero]), a, n.output[0]!) : undefined,
    needs[1] ? unbroadcast(ctx, em.op('Where', [cmp, zero, g]), b, n.output[0]!) : undefined,
  ];
};

const where: Vjp = (ctx, n, [g], needs) => {
  const { em } = ctx;
  if (!g) return [undefined, undefined, undefined];
  const [c, a, b] = n.input as [string, string, string];
  const zero = em.scalar(0);
  return [
    undefined,
    needs[1] ? unbroadcast(ctx, em.op('Where', [c, g, zero]), a, n.output[0]!) : undefined,
    needs[2] ? unbroadcast(ctx, em.op('Where', [c, zero, g]), b, n.output[0]!) : undefined,
  ];
};

const identity: Vjp = (_ctx, _n, [g]) => [g];

const cast: Vjp = (ctx, n, [g]) => [g ? ctx.em.op('CastLike', [g, n.input[0]!]) : undefined];



// --- the element-wise family in the op registry --------------------------------------------------------------------

/** Numpy broadcasting of all inputs; the element type of the first typed input (bool for comparisons). */
const broadcast = (out: 'bool' | 'first' = 'first'): ShapeRule => ({ inp }, n) => {
  const shapes = n.input.map((_, k) => inp(k).shape);
  const et = out === 'bool' ? 9 : n.input.map((_, k) => inp(k).elemType).find((e) => e) ?? 0;
  return [{ elemType: et, shape: broadcastShapes(shapes) }];
};

/** Where(c, a, b): broadcast of the three, typed like a. */
const whereShape: ShapeRule = ({ inp }, n) => [{ elemType: inp(1).elemType, shape: broadcastShapes(n.input.map((_, k) => inp(k).shape)) }];

/** Shape arithmetic (d·h, n/heads, len−1 …) on shape vectors; symbols and unknowns give unknown dims. */
const arithmeticValue: ValueRule = ({ val }, n) => {
  const x = val(n.input[0]);
  const y = val(n.input[1]);
  if (!x || !y) return undefined;
  const len = Math.max(x.length, y.length);
  const f = (a: Dim, b: Dim): Dim => {
    if (typeof a !== 'number' || typeof b !== 'number') return null;
    return n.opType === 'Add' ? a + b : n.opType === 'Sub' ? a - b : n.opType === 'Mul' ? a * b : Math.trunc(a / b);
  };
  return Array.from({ length: len }, (_, i) => f(x[x.length === 1 ? 0 : i] ?? null, y[y.length === 1 ? 0 : i] ?? null));
};

const equalValue: ValueRule = ({ val }, n) => {
  const x = val(n.input[0]);
  const y = val(n.input[1]);
  if (!x || !y) return undefined;
  const len = Math.max(x.length, y.length);
  return Array.from({ length: len }, (_, i) => {
    const a = x[x.length === 1 ? 0 : i] ?? null;
    const b = y[y.length === 1 ? 0 : i] ?? null;
    if (typeof a === 'number' && typeof b === 'number') return a === b ? 1 : 0;
    // A symbolic dim is a size ≥ 1: never equal to a non-positive constant.
    if (typeof a === 'string' && typeof b === 'number' && b <= 0) return 0;
    if (typeof b === 'string' && typeof a === 'number' && a <= 0) return 0;
    return a !== null && a === b ? 1 : null;
  });
};

const whereValue: ValueRule = ({ val }, n) => {
  const c = val(n.input[0]);
  const a = val(n.input[1]);
  const b = val(n.input[2]);
  if (!c || !a || !b) return undefined;
  const len = Math.max(c.length, a.length, b.length);
  return Array.from({ length: len }, (_, i) => {
    const ci = c[c.length === 1 ? 0 : i];
    if (typeof ci !== 'number') return null;
    return (ci ? a[a.length === 1 ? 0 : i] : b[b.length === 1 ? 0 : i]) ?? null;
  });
};

/** Add/Sum of two or more non-constant tensors joins branches (a residual connection): a 'sum' unit. */
const sumUnit: UnitRule = (g, n) => ({ kind: dynamicInputs(g, n).length >= 2 ? 'sum' : 'other' });

/**
 * An element-wise function of one non-constant tensor — Log, Sqrt, Exp, Abs, Reciprocal, Neg, Pow with a constant
 * exponent — is an activation unit, like Tanh: LRP composites pass relevance through it unchanged (Zennit's Pass on
 * activations; for Neg, the z-rule of y = −x gives exactly that), AttnLRP's identity rule applies in the gradient form.
 * As an 'other' unit it would get the plain gradient, which scales relevance by f'(x) and breaks conservation: in a
 * log-mel front end, Log(mel + 1e-6) multiplies the relevance by 1/(mel + 1e-6) (up to 10⁶ on a quiet mel bin) and the
 * power Pow(re, 2) by 2·re (signed), so what reaches the waveform no longer adds up to the score. (x·x, the power written
 * as a Mul, is already an activation region: canonicalize/activations.ts.) A Pow with a computed exponent is not.
 */
const unaryActivationUnit: UnitRule = (g, n) => {
  const x = n.input[0];
  const single = !!x && !g.isConstant(x) && n.input.slice(1).every((i) => !i || g.isConstant(i));
  return { kind: single ? 'activation' : 'other' };
};

const unary = (vjp: Vjp | undefined, extra: Partial<OpSpec> = {}): OpSpec => ({ kind: 'elementwise', vjp, shape: sameAsInput, ...extra });
const binary = (vjp: Vjp | undefined, extra: Partial<OpSpec> = {}): OpSpec => ({ kind: 'elementwise', vjp, shape: broadcast(), ...extra });
const comparison: OpSpec = { kind: 'source', differentiable: false, shape: broadcast('bool') };
/** Rounding, signs and tests: integer-valued or boolean results without a gradient; same shape (and type) as x. */
const piecewiseConstant: OpSpec = { kind: 'source', differentiable: false, shape: sameAsInput };

export const elementwiseOps: Record<string, OpSpec> = {
  Add: binary(add, { kind: 'sum', value: arithmeticValue, nonNegative: allInputs, unit: sumUnit, inActivationPattern: true }),
  Sub: binary(sub, { value: arithmeticValue, inActivationPattern: true }),
  Mul: binary(mul, { value: arithmeticValue, nonNegative: allInputs, unit: productUnit, inActivationPattern: true }),
  Div: binary(div, { value: arithmeticValue, nonNegative: allInputs, inActivationPattern: true }),
  Pow: binary(pow, { unit: unaryActivationUnit, inActivationPattern: true }),
  // max(a, b) ≥ a: one non-negative operand suffices.
  Max: binary(maxMin, { nonNegative: (ctx, p) => p.input.some((i) => i && ctx.check(i)), inActivationPattern: true }),
  Min: binary(maxMin, { nonNegative: allInputs, inActivationPattern: true }),
  Sum: binary(sum, { kind: 'sum', nonNegative: allInputs, unit: sumUnit }),
  Mean: binary(undefined),
  Where: { kind: 'elementwise', vjp: where, shape: whereShape, value: whereValue },
  Equal: { ...comparison, value: equalValue },
  Greater: comparison,
  Less: comparison,
  GreaterOrEqual: comparison,
  LessOrEqual: comparison,
  And: comparison,
  Or: comparison,
  Xor: { kind: 'source', differentiable: false },
  Mod: { kind: 'source', differentiable: false, shape: broadcast() },
  Neg: unary(neg, { unit: unaryActivationUnit, inActivationPattern: true }),
  Sqrt: unary(sqrt, { nonNegative: always, unit: unaryActivationUnit, inActivationPattern: true }),
  Exp: unary(exp, { nonNegative: always, unit: unaryActivationUnit, inActivationPattern: true }),
  Log: unary(log, { unit: unaryActivationUnit, inActivationPattern: true }),
  Reciprocal: unary(reciprocal, { unit: unaryActivationUnit, inActivationPattern: true }),
  Abs: unary(abs, { nonNegative: always, unit: unaryActivationUnit, inActivationPattern: true }),
  Sin: unary(undefined),
  Cos: unary(undefined),
  Floor: piecewiseConstant,
  Ceil: piecewiseConstant,
  Round: piecewiseConstant,
  Sign: piecewiseConstant,
  Not: { ...piecewiseConstant, value: ({ val }, n) => val(n.input[0])?.map((v) => (typeof v === 'number' ? (v ? 0 : 1) : null)) },
  IsNaN: piecewiseConstant,
  IsInf: piecewiseConstant,
  Identity: { kind: 'shape-only', vjp: identity, shape: sameAsInput, value: passValue, nonNegative: allInputs },
  // Inference-time Dropout is the identity; its optional second output is the (boolean) mask.
  Dropout: { kind: 'shape-only', vjp: identity, shape: ({ inp }) => [{ elemType: inp(0).elemType, shape: inp(0).shape }, { elemType: 9, shape: inp(0).shape }], nonNegative: allInputs },
  Cast: { kind: 'elementwise', vjp: cast, shape: ({ inp }, n) => [{ elemType: attrInt(n, 'to', 1), shape: inp(0).shape }], value: passValue, nonNegative: allInputs },
  CastLike: { kind: 'elementwise', shape: ({ inp }) => [{ elemType: inp(1).elemType, shape: inp(0).shape }] },
};
