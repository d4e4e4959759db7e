
import { constNumbers } from '../onnx/tensor.js';
import { unbroadcast, unsupported, type Vjp } from './context.js';

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

export const elementwiseVjps: Record<string, Vjp> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Sum: sum,
  Neg: neg,
  Pow: pow,
  Sqrt: sqrt,
  Exp: exp,
  Log: log,
  Reciprocal: reciprocal,
  Abs: abs,
  Max: maxMin,
  Min: maxMin,
  Where: where,
  Identity: identity,
  Dropout: identity,
  Cast: cast,
};

