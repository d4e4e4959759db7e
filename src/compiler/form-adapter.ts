import type { Emitter } from '../ir/emitter.js';
import type { PropagationForm, Rule } from '../rules/types.js';

/**
 * Applies a rule written for one form inside a backward pass of the other form. With relevance = tensor ⊙ gradient:
 * a relevance rule in a gradient pass gets R = z ⊙ g and returns R_i, turned back into g_i = R_i / x_i (0 where
 * x_i = 0, where the relevance is 0 whatever the gradient); a gradient rule in a relevance pass gets g = R / z
 * (stabilised) and returns g_i, turned into R_i = x_i ⊙ g_i. Rules without a native form see what flows, unchanged.
 */
export function inForm(
  em: Emitter,
  rule: Rule,
  form: PropagationForm,
  z: string,
  incoming: string,
  inputs: readonly string[],
  propagate: (incoming: string) => (string | undefined)[],
): (string | undefined)[] {
  if (!rule.native || rule.native === form) return propagate(incoming);
  if (form === 'gradient') {
    const rel = propagate(em.mul(z, incoming));
    return rel.map((r, k) => (r ? safeDiv(em, r, inputs[k]!) : undefined));
  }
  const grads = propagate(em.div(incoming, em.stabilize(z, 1e-12)));
  return grads.map((g, k) => (g ? em.mul(inputs[k]!, g) : undefined));
}

/** r / x with 0 where x = 0. */
function safeDiv(em: Emitter, r: string, x: string): string {
  const zero = em.op('Equal', [x, em.scalar(0)], {}, 'is_zero');
  const denom = em.op('Where', [zero, em.scalar(1), x], {}, 'safe_x');
  return em.op('Where', [zero, em.scalar(0), em.div(r, denom)], {}, 'grad_of_relevance');
}
