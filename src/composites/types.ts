import type { UnitKind } from '../ir/unit.js';
import type { PropagationForm } from '../rules/types.js';

/** Which units an entry applies to. All given fields must match. */
export interface Matcher {
  /** Layer kind(s): conv, dense, activation, sum, avgpool, batchnorm, other. */
  kind?: UnitKind | UnitKind[];
  /** ONNX op type(s), or an activation's name for recognised activations (SiLU, GELU …). */
  opType?: string | string[];
  /** Exact node name, or a regular expression written as "/…/". */
  name?: string;
  /** The first linear layer (conv or dense) from the input, in topological order. */
  first?: boolean;
}

export interface CompositeEntry {
  match: Matcher;
  rule: string;
  params?: Record<string, number>;
}

/** A composite: an ordered table from units to rules; the first matching entry wins, unmatched units get the gradient. */
export interface Composite {
  name: string;
  description?: string;
  entries: CompositeEntry[];
  /**
   * What flows backward: 'relevance' (classic LRP, default) or 'gradient' — AttnLRP's Gradient × Input form, where
   * the attribution of a tensor is tensor ⊙ modified gradient and the seed is the one-hot target itself.
   */
  form?: PropagationForm;
}
