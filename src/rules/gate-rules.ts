import { gateOperand } from '../ops/recurrent.js';
import type { Unit } from '../ir/unit.js';
import type { Rule } from './types.js';

/**
 * Arras et al. (2017, "Explaining recurrent neural network predictions in sentiment analysis"): in a product
 * gate ⊙ signal of an LSTM/GRU cell the gate only decides how much of the signal passes; all relevance goes to the
 * signal and none to the gate ("signal-take-all"). Relevance is conserved through the product. A constant signal
 * (a GRU's reset gate times the bias Rb_h) absorbs its relevance, as a bias does.
 */
/**
 * The gate operand of a gate ⊙ signal unit: the one a squeeze-excitation unit names, the one a recurrent canonicaliser
 * marked, else (a user composite mapping another product here) the second operand.
 */
export function gateOf(unit: Unit): string | undefined {
  const node = unit.nodes[0]!;
  return unit.gate ?? node.input[gateOperand(node) ?? 1];
}

export const signalTakeAll: Rule = {
  name: 'signal-take-all',
  native: 'relevance',
  description: 'gate ⊙ signal products (recurrent cells, squeeze-excitation): all relevance to the signal, none to the gate (Arras et al. 2017)',
  linearOnly: false,
  params: {},
  propagate(ctx) {
    const gate = gateOf(ctx.unit);
    return ctx.inputs.map((x) => (x === gate ? undefined : ctx.R));
  },
};
