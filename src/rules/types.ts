import type { Emitter } from '../compiler/emitter.js';
import type { LinearOps } from '../compiler/linear-ops.js';
import type { Unit } from '../compiler/units.js';

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
  /** The plain gradient of the unit applied to s: one cotangent per entry of `inputs`. */
  vjp(s: string): (string | undefined)[];
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
export interface Rule {
  name: string;
  description: string;
  /** Only applicable to linear layers (needs W and b). */
  linearOnly: boolean;
  /** Parameter names and defaults. */
  params: Readonly<Record<string, number>>;
  propagate(ctx: RuleContext): (string | undefined)[];
}
