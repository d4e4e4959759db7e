/**
 * Concept Relevance Propagation (Achtibat et al. 2023) as a method: LRP with the composite's rules, restricted to the
 * channels its `conditions` name (zennit-crp's exclude_parallel semantics), through the context's conditional-relevance
 * hook. The concept analyses (src/concepts/) evaluate many conditions at once through the same hook.
 */
import { InvalidArgumentError } from '../errors.js';
import { CONDITIONS_SYNTAX } from './conditions.js';
import { defineMethod } from './define.js';

export const crp = defineMethod({
  name: 'crp',
  description: 'Concept Relevance Propagation: LRP conditioned on channels of layers (zennit-crp, exclude_parallel)',
  params: [{ name: 'conditions', type: 'string', description: `the channels relevance flows through, ${CONDITIONS_SYNTAX}; e.g. conv2:3,5;conv1:7` }],
  composite: true,
  // One run: the forward pass and the conditioned backward pass in one compiled graph.
  onePass: true,
  async explain(ctx) {
    if (!ctx.conditions?.length) throw new InvalidArgumentError('conditions', 'crp needs conditions', `give the conditions parameter: ${CONDITIONS_SYNTAX} (see \`xsys concepts layers\` for tensor names)`);
    const [item] = await ctx.conditional(ctx.input, ctx.targets, [ctx.conditions]);
    return { attribution: item!.heatmap };
  },
});
