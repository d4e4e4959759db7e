import type { Rule } from './types.js';

/** Guided backprop (ReLU only): the ReLU's gradient, then negative values clipped. */
export const guidedBackprop: Rule = {
  name: 'guided-backprop',
  description: 'ReLU backward: clamp(gradient through the ReLU, min = 0)',
  linearOnly: false,
  params: {},
  propagate(ctx) {
    const g = ctx.vjp(ctx.R)[0];
    return [g ? ctx.em.op('Relu', [g], {}, 'guided') : undefined];
  },
};

/** DeconvNet (ReLU only): the incoming signal with negative values clipped, ignoring the forward ReLU mask. */
export const deconvNet: Rule = {
  name: 'deconvnet',
  description: 'ReLU backward: clamp(incoming gradient, min = 0)',
  linearOnly: false,
  params: {},
  propagate: (ctx) => [ctx.em.op('Relu', [ctx.R], {}, 'deconv')],
};

/** The plain gradient, as a rule so composites can name it explicitly (e.g. to override a broader entry). */
export const gradient: Rule = {
  name: 'gradient',
  description: 'plain gradient (no rule)',
  linearOnly: false,
  params: {},
  propagate: (ctx) => ctx.vjp(ctx.R),
};
