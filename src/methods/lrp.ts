/** Layer-wise Relevance Propagation: the composite's rules, compiled into one backward pass. */
import { defineMethod } from './define.js';

export const lrp = defineMethod({
  name: 'lrp',
  description: 'Layer-wise Relevance Propagation with a composite of rules (its parameters are the composite\'s)',
  params: [],
  composite: true,
  pass: { backward: 'lrp', timesInput: false },
  device: true,
  tokenInputs: true,
});
