import type { Rule, RuleContext } from './types.js';

/** R_i = x_i ⊙ ∂z/∂x_iᵀ (R / stab(z)): the basic z-rule. Epsilon and Norm differ only in where ε comes from. */
function zRule(ctx: RuleContext, eps: number): (string | undefined)[] {
  const { em } = ctx;
  // Sums and averages of non-negative inputs are ≥ 0: the one-op stabiliser is exact there.
  const nonneg = ctx.unit.kind !== 'conv' && ctx.unit.kind !== 'dense' && ctx.inputs.every((x) => ctx.nonNegative(x));
  const s = em.div(ctx.R, nonneg ? em.stabilizeNonNeg(ctx.z, eps) : em.stabilize(ctx.z, eps));
  const grads = ctx.vjp(s);
  return ctx.inputs.map((x, k) => (grads[k] ? em.mul(x, grads[k]!) : undefined));
}

export const epsilon: Rule = {
  name: 'epsilon',
  native: 'relevance',
  description: 'z-rule with stabiliser ε: R_i = x_i·(∂z/∂x_i)ᵀ R/(z + ε·sign(z))',
  linearOnly: false,
  params: { epsilon: 1e-6 },
  propagate: (ctx) => zRule(ctx, ctx.params.epsilon!),
};

export const norm: Rule = {
  name: 'norm',
  native: 'relevance',
  description: 'sum rule for additions and average pooling: R_i = x_i·R/stab(Σ x)',
  linearOnly: false,
  params: { stabilizer: 1e-6 },
  propagate: (ctx) => zRule(ctx, ctx.params.stabilizer!),
};

export const pass: Rule = {
  name: 'pass',
  native: 'relevance',
  description: 'relevance passes unchanged (activations)',
  linearOnly: false,
  params: {},
  propagate: (ctx) => ctx.inputs.map((_, k) => (k === 0 ? ctx.R : undefined)),
};
