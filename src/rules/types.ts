import type { Emitter } from '../ir/emitter.js';
import type { LinearOps } from './linear-ops.js';
import type { Unit } from '../ir/unit.js';

/** Everything a rule may use to propagate relevance through one unit. */
export interface RuleContext {
  em: Emitter;
  unit: Unit;
  /** The unit's non-constant inputs, in node order. */
  inputs: string[];
  /** The unit's forward output z. */
  z: string;
  /** Relevance arriving at the unit's output. */
  R: string;
  /**
   * The plain gradient of the unit applied to s: one cotangent per entry of `inputs`. `holdConstant` names tensors
   * inside the unit through which nothing flows back (a normalisation's statistic).
   */
  vjp(s: string, options?: { holdConstant?: readonly string[] }): (string | undefined)[];
  /** Whether a tensor depends on the explained input (operands that do not are constants for the backward pass). */
  isActive(t: string): boolean;
  /**
   * What flows backward in this composite: 'relevance' (classic LRP), or 'gradient' — a modified gradient whose
   * product with a tensor is that tensor's relevance (AttnLRP's Gradient × Input form).
   */
  form: PropagationForm;
  /** Static proof that a tensor is ≥ 0 everywhere (e.g. a ReLU output), which lets rules drop the negative half. */
  nonNegative(t: string): boolean;
  /** Present for linear layers (conv, dense). */
  linear?: LinearOps;
  params: Readonly<Record<string, number>>;
}

/**
 * A rule: how one unit propagates relevance (or a modified gradient) to its inputs. Rules never know which layer
 * they are attached to — composites decide that.
 */
export type PropagationForm = 'relevance' | 'gradient';

export interface Rule {
  name: string;
  description: string;
  /** Only applicable to linear layers (needs W and b). */
  linearOnly: boolean;
  /** Parameter names and defaults. */
  params: Readonly<Record<string, number>>;
  /**
   * The quantity the rule is written for. In a composite of the other form the compiler converts around it
   * (relevance = tensor ⊙ gradient). Unset: the rule transforms whatever flows (gradient-modifying ReLU rules, pass).
   */
  native?: PropagationForm;
  propagate(ctx: RuleContext): (string | undefined)[];
}
