import type { Rule, RuleContext } from './types.js';

/** R_i = x_i ⊙ ∂z/∂x_iᵀ (R / stab(z)): the basic z-rule. Epsilon and Norm differ only in where ε comes from. */
function zRule(ctx: RuleContext, eps: number): (string | undefined)[] {
  const { em } = ctx;
  // Sums and averages of non-negative inputs are ≥ 0: the one-op stabiliser is exact there.
  const nonneg = ctx.unit.kind !== 'conv' && ctx.unit.kind !== 'dense' && ctx.inputs.every((x) => ctx.nonNegative(x));
  const s = em.div(ctx.R, nonneg ? em.stabilizeNonNeg(recomputedSum(ctx), eps) : em.stabilize(recomputedSum(ctx), eps));
  const grads = ctx.vjp(s);
  return ctx.inputs.map((x, k) => (grads[k] ? em.mul(x, grads[k]!) : undefined));
}

/**
 * A residual sum a + b is recomputed from a and b, which the rule keeps anyway for a ⊙ s and b ⊙ s, so the forward
 * sum need not stay alive until the backward pass (ResNet50 at batch 8: 16 sums, 168 MiB). Same float32 addition,
 * same result; written as `Sum`, which ONNX Runtime does not merge back into the forward `Add`.
 */
function recomputedSum(ctx: RuleContext): string {
  const node = ctx.unit.nodes.length === 1 ? ctx.unit.nodes[0]! : undefined;
  if (!node || (node.opType !== 'Add' && node.opType !== 'Sum') || ctx.inputs.length < 2) return ctx.z;
  if (node.input.length !== ctx.inputs.length || !node.input.every((i) => ctx.inputs.includes(i))) return ctx.z;
  return ctx.em.op('Sum', [...node.input], {}, 'z_recomputed');
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
