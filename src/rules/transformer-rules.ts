import { UnsupportedNodeError } from '../errors.js';
import { layerNormHeldVjp } from '../ops/normalization.js';
import type { Rule, RuleContext } from './types.js';

/**
 * AttnLRP's rules (Achtibat et al., 2024) in Gradient × Input form: what flows backward is a modified gradient g, and
 * a tensor's relevance is tensor ⊙ g. Each rule here is written for that form (`native: 'gradient'`).
 */

/**
 * Identity rule for element-wise non-linearities y = f(x): g_x = g_y · f(x)/(x + ε). Relevance x·g_x = y·g_y passes
 * unchanged through the activation. ε is added as is (not sign-matched), as LXT does.
 */
export const identity: Rule = {
  name: 'identity',
  native: 'gradient',
  description: 'identity rule for element-wise non-linearities: g_x = g_y·f(x)/(x + ε) (relevance passes unchanged)',
  linearOnly: false,
  params: { epsilon: 1e-10 },
  propagate(ctx) {
    const { em } = ctx;
    if (ctx.inputs.length !== 1) {
      throw new UnsupportedNodeError(ctx.unit.name, ctx.unit.opType, `the identity rule needs an element-wise function of one tensor, but this unit has ${ctx.inputs.length} non-constant inputs`, 'map this node to the uniform or gradient rule instead');
    }
    const x = ctx.inputs[0]!;
    return [em.mul(ctx.R, em.div(ctx.z, em.add(x, em.scalar(ctx.params.epsilon!))))];
  },
};

/** Number of operand slots of the unit's nodes that hold an active tensor (x·x counts twice). */
function activeSlots(ctx: RuleContext): number {
  let n = 0;
  for (const node of ctx.unit.nodes) for (const i of node.input) if (i && ctx.inputs.includes(i) && ctx.isActive(i)) n++;
  return n;
}

/**
 * Uniform rule for a product of activations (q·kᵀ, attn·v, gate·up): each of the n operands that depend on the input
 * receives 1/n of the gradient, so relevance is split evenly instead of being counted n times.
 */
export const uniform: Rule = {
  name: 'uniform',
  native: 'gradient',
  description: 'uniform rule for products of n activations: each operand gets the gradient scaled by 1/n',
  linearOnly: false,
  params: {},
  propagate(ctx) {
    const n = activeSlots(ctx);
    const grads = ctx.vjp(ctx.R);
    if (n <= 1) return grads;
    return grads.map((g) => (g ? ctx.em.mul(g, ctx.em.scalar(1 / n)) : undefined));
  },
};

/**
 * The unit's plain gradient in Gradient × Input form: R_x = x ⊙ (∂f/∂x)ᵀ(R / f(x)). For a softmax that is AttnLRP's
 * rule, R_x = x ⊙ (R − s·ΣR) (the softmax acts as a bias-absorbing linear map); the plain gradient applied to R itself
 * gives s ⊙ (R − ⟨s, R⟩), which sums to zero, so nothing would reach the queries and keys. In a gradient-form
 * composite it is the plain gradient.
 */
export const gradientTimesInput: Rule = {
  name: 'gradient-times-input',
  native: 'gradient',
  description: "the unit's plain gradient in Gradient × Input form, R_x = x ⊙ ∂f/∂xᵀ(R / f(x)) (AttnLRP's softmax rule)",
  linearOnly: false,
  params: {},
  propagate: (ctx) => ctx.vjp(ctx.R),
};

/** Nothing flows back into the unit's inputs: CP-LRP treats attention weights as constants (no gradient to q, k). */
export const stopGradient: Rule = {
  name: 'stop-gradient',
  description: 'no relevance/gradient flows into the inputs (CP-LRP: attention scores act as constants)',
  linearOnly: false,
  params: {},
  propagate: (ctx) => ctx.inputs.map(() => undefined),
};

/**
 * Identity rule on normalisations: the standard deviation (RMS) is a constant, so the gradient flows through
 * x − mean (LayerNorm) or x (RMSNorm) only, never through the statistic.
 */
export const normIdentity: Rule = {
  name: 'norm-identity',
  native: 'gradient',
  description: 'LayerNorm/RMSNorm with the statistic (std, rms) held constant',
  linearOnly: false,
  params: {},
  propagate(ctx) {
    const node = ctx.unit.nodes.length === 1 ? ctx.unit.nodes[0]! : undefined;
    if (node && node.opType === 'LayerNormalization') {
      return ctx.inputs.map((x) => (x === node.input[0] ? layerNormHeldVjp(ctx.em, node, ctx.R, ctx.unit.output) : undefined));
    }
    if (!ctx.unit.statistics?.length) {
      throw new UnsupportedNodeError(ctx.unit.name, ctx.unit.opType, 'the norm-identity rule needs a LayerNormalization node or a recognised LayerNorm/RMSNorm pattern', 'map this node to the gradient rule instead');
    }
    return ctx.vjp(ctx.R, { holdConstant: ctx.unit.statistics });
  },
};
