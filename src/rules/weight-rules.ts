import { negativePart as neg, positivePart as pos, type WeightRef } from './linear-ops.js';
import type { Rule, RuleContext } from './types.js';

function lin(ctx: RuleContext) {
  if (!ctx.linear) throw new Error(`rule needs a linear layer (unit '${ctx.unit.name}')`);
  return ctx.linear;
}

/**
 * The positive/negative split used by ZPlus, AlphaBeta and Gamma:
 * z = f(x⁺; Wa, ba) + f(x⁻; Wb, 0) and R_in = x⁺ ⊙ fᵀ(s; Wa) + x⁻ ⊙ fᵀ(s; Wb).
 * For inputs proven non-negative x⁻ = 0, so those terms are dropped — exactly, not approximately.
 */
function splitZ(ctx: RuleContext, wa: WeightRef, wb: WeightRef, ba: string | undefined): { z: string; xp: string; xn?: string } {
  const L = lin(ctx);
  const { em } = ctx;
  if (ctx.nonNegative(L.x)) return { z: L.f(L.x, wa, ba), xp: L.x };
  const xp = em.pos(L.x);
  const xn = em.neg(L.x);
  return { z: em.add(L.f(xp, wa, ba), L.f(xn, wb)), xp, xn };
}

function splitR(ctx: RuleContext, s: string, wa: WeightRef, wb: WeightRef, xp: string, xn?: string): string {
  const L = lin(ctx);
  const { em } = ctx;
  const a = em.mul(xp, L.fT(s, wa));
  return xn ? em.add(a, em.mul(xn, L.fT(s, wb))) : a;
}

export const zPlus: Rule = {
  name: 'zplus',
  native: 'relevance',
  description: 'LRP-z⁺: only positive contributions, z = f(x⁺;W⁺,b⁺) + f(x⁻;W⁻,0)',
  linearOnly: true,
  params: { stabilizer: 1e-6 },
  propagate(ctx) {
    const L = lin(ctx);
    const wp = L.weight('pos', pos);
    const wn = L.weight('neg', neg);
    const { z, xp, xn } = splitZ(ctx, wp, wn, L.bias('pos', pos));
    // z = f(x⁺;W⁺,b⁺) + f(x⁻;W⁻,0) ≥ 0 by construction, so sign(z) = +1.
    const s = ctx.em.div(ctx.R, ctx.em.stabilizeNonNeg(z, ctx.params.stabilizer!));
    return [splitR(ctx, s, wp, wn, xp, xn)];
  },
};

export const alphaBeta: Rule = {
  name: 'alpha-beta',
  native: 'relevance',
  description: 'LRP-αβ: α·(positive contributions) − β·(negative contributions)',
  linearOnly: true,
  params: { alpha: 2, beta: 1, stabilizer: 1e-6 },
  propagate(ctx) {
    const L = lin(ctx);
    const { em } = ctx;
    const { alpha, beta, stabilizer } = ctx.params as { alpha: number; beta: number; stabilizer: number };
    const wp = L.weight('pos', pos);
    const wn = L.weight('neg', neg);
    const plus = splitZ(ctx, wp, wn, L.bias('pos', pos));
    const sPlus = em.div(ctx.R, em.stabilizeNonNeg(plus.z, stabilizer));
    const rPlus = splitR(ctx, sPlus, wp, wn, plus.xp, plus.xn);
    if (beta === 0) return [alpha === 1 ? rPlus : em.mul(rPlus, em.scalar(alpha))];
    const minus = splitZ(ctx, wn, wp, L.bias('neg', neg));
    const sMinus = em.div(ctx.R, em.stabilize(minus.z, stabilizer));
    const rMinus = splitR(ctx, sMinus, wn, wp, minus.xp, minus.xn);
    return [em.sub(em.mul(rPlus, em.scalar(alpha)), em.mul(rMinus, em.scalar(beta)))];
  },
};

export const gamma: Rule = {
  name: 'gamma',
  native: 'relevance',
  description: 'LRP-γ: favour positive contributions by W + γW⁺ (sign of each output decided by z = f(x;W,b))',
  linearOnly: true,
  params: { gamma: 0.25, stabilizer: 1e-6 },
  propagate(ctx) {
    const L = lin(ctx);
    const { em } = ctx;
    const g = ctx.params.gamma!;
    const eps = ctx.params.stabilizer!;
    const wa = L.weight(`gamma${g}_pos`, (w) => w + g * pos(w));
    const wb = L.weight(`gamma${g}_neg`, (w) => w + g * neg(w));
    const zero = em.scalar(0);
    const outPos = em.op('Greater', [ctx.z, zero]);
    const outNeg = em.op('Less', [ctx.z, zero]);
    // Outputs with z > 0 use the "a" split, outputs with z < 0 the mirrored one; z = 0 passes nothing.
    const up = splitZ(ctx, wa, wb, L.bias(`gamma${g}_pos`, (b) => b + g * pos(b)));
    const sUp = em.op('Where', [outPos, em.div(ctx.R, em.stabilize(up.z, eps)), zero]);
    const down = splitZ(ctx, wb, wa, L.bias(`gamma${g}_neg`, (b) => b + g * neg(b)));
    const sDown = em.op('Where', [outNeg, em.div(ctx.R, em.stabilize(down.z, eps)), zero]);
    if (!up.xn) return [em.mul(L.x, em.add(L.fT(sUp, wa), L.fT(sDown, wb)))];
    const fromPos = em.mul(up.xp, em.add(L.fT(sUp, wa), L.fT(sDown, wb)));
    const fromNeg = em.mul(up.xn, em.add(L.fT(sUp, wb), L.fT(sDown, wa)));
    return [em.add(fromPos, fromNeg)];
  },
};

export const zBox: Rule = {
  name: 'zbox',
  native: 'relevance',
  description: 'LRP-Zᴮ for bounded inputs l ≤ x ≤ h (first layer): z = f(x;W,b) − f(l;W⁺,b⁺) − f(h;W⁻,b⁻)',
  linearOnly: true,
  params: { low: Number.NaN, high: Number.NaN, stabilizer: 1e-6 },
  propagate(ctx) {
    const L = lin(ctx);
    const { em } = ctx;
    const { low, high } = ctx.params as { low: number; high: number };
    // Bounds not given: the data range of the input batch (min and max over all its values).
    const lowT = Number.isNaN(low) ? em.op('ReduceMin', [L.x], { keepdims: { int: 0 } }, 'box_low') : em.scalar(low);
    const highT = Number.isNaN(high) ? em.op('ReduceMax', [L.x], { keepdims: { int: 0 } }, 'box_high') : em.scalar(high);
    const w = L.weight('id', (v) => v);
    const wp = L.weight('pos', pos);
    const wn = L.weight('neg', neg);
    const lx = em.op('Expand', [lowT, em.shapeOf(L.x)]);
    const hx = em.op('Expand', [highT, em.shapeOf(L.x)]);
    const z = em.sub(em.sub(ctx.z, L.f(lx, wp, L.bias('pos', pos))), L.f(hx, wn, L.bias('neg', neg)));
    const s = em.div(ctx.R, em.stabilize(z, ctx.params.stabilizer!));
    const r = em.sub(em.sub(em.mul(L.x, L.fT(s, w)), em.mul(lowT, L.fT(s, wp))), em.mul(highT, L.fT(s, wn)));
    return [r];
  },
};

export const wSquare: Rule = {
  name: 'wsquare',
  native: 'relevance',
  description: 'LRP-w²: relevance by squared weights, independent of the input',
  linearOnly: true,
  params: { stabilizer: 1e-6 },
  propagate(ctx) {
    const L = lin(ctx);
    const { em } = ctx;
    const w2 = L.weight('sq', (v) => v * v);
    const z = L.f(em.constLike(L.x, 1), w2, L.bias('sq', (b) => b * b));
    return [L.fT(em.div(ctx.R, em.stabilizeNonNeg(z, ctx.params.stabilizer!)), w2)];
  },
};

export const flat: Rule = {
  name: 'flat',
  native: 'relevance',
  description: 'flat rule: relevance spread uniformly over each receptive field (all weights one, no bias)',
  linearOnly: true,
  params: { stabilizer: 1e-6 },
  propagate(ctx) {
    const L = lin(ctx);
    const { em } = ctx;
    const ones = L.weight('ones', () => 1);
    const z = L.f(em.constLike(L.x, 1), ones);
    return [L.fT(em.div(ctx.R, em.stabilizeNonNeg(z, ctx.params.stabilizer!)), ones)];
  },
};
