import { gateOperand } from '../ops/recurrent.js';
import type { Rule } from './types.js';

/**
 * Arras et al. (2017, "Explaining recurrent neural network predictions in sentiment analysis"): in a product
 * gate ⊙ signal of an LSTM/GRU cell the gate only decides how much of the signal passes; all relevance goes to the
 * signal and none to the gate ("signal-take-all"). Relevance is conserved through the product. A constant signal
 * (a GRU's reset gate times the bias Rb_h) absorbs its relevance, as a bias does.
 */
export const signalTakeAll: Rule = {
  name: 'signal-take-all',
  native: 'relevance',
  description: 'gate ⊙ signal products (recurrent cells, squeeze-excitation): all relevance to the signal, none to the gate (Arras et al. 2017)',
  linearOnly: false,
  params: {},
  propagate(ctx) {
    const node = ctx.unit.nodes[0]!;
    const k = gateOperand(node);
    // Squeeze-excitation gates name their gate operand; other unmarked products (a user composite mapping one here):
    // the second operand is taken as the gate.
    const gate = ctx.unit.gate ?? node.input[k ?? 1];
    return ctx.inputs.map((x) => (x === gate ? undefined : ctx.R));
  },
};
