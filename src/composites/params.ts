/**
 * The parameters of the named composites, declared like a method's (src/param-spec.ts): type, range and a one-line
 * description per parameter name; each composite's defaults stay in named.ts. GET /api/methods publishes these.
 */
import type { ParamSpec } from '../param-spec.js';
import { NAMED_COMPOSITES, ZENNIT_PREFIX } from './named.js';

/**
 * Type, range and description of every composite parameter: the one source of their bounds — the limits table
 * (src/methods/limits.ts) takes its LRP-family entries from here, so the server's checks and the declarations agree.
 */
export const COMPOSITE_PARAM_SPECS: Readonly<Record<string, Omit<ParamSpec, 'name' | 'default'> & { min: number; max: number }>> = {
  epsilon: { type: 'number', min: 0, max: 1e6, description: 'ε of the Epsilon rule: absorbs weak or contradictory relevance' },
  stabilizer: { type: 'number', min: 0, max: 1e6, description: 'added to denominators to keep them away from zero' },
  gamma: { type: 'number', min: 0, max: 1e6, description: 'γ of the Gamma rule: how much positive contributions are favoured' },
  alpha: { type: 'number', min: 0, max: 1e6, description: 'α of the AlphaBeta rule: weight of the positive part' },
  beta: { type: 'number', min: 0, max: 1e6, description: 'β of the AlphaBeta rule: weight of the negative part' },
  low: { type: 'number', min: -1e6, max: 1e6, description: 'ZBox lower input bound (default: the input batch minimum)' },
  high: { type: 'number', min: -1e6, max: 1e6, description: 'ZBox upper input bound (default: the input batch maximum)' },
};
const PARAMS = COMPOSITE_PARAM_SPECS;

/** The declared parameters of a named composite; a NaN default (ZBox bounds: from the input) is published as none. */
export function compositeParams(name: string): ParamSpec[] {
  const def = NAMED_COMPOSITES[name.startsWith(ZENNIT_PREFIX) ? name.slice(ZENNIT_PREFIX.length) : name];
  if (!def) return [];
  return Object.entries(def.params).map(([k, v]) => ({
    name: k,
    ...(PARAMS[k] ?? { type: 'number' as const, description: k }),
    ...(Number.isFinite(v) ? { default: v } : {}),
  }));
}

export interface CompositeDeclaration {
  name: string;
  description: string;
  /** 'transformer': the Gradient × Input family (AttnLRP, CP-LRP) for attention models; 'any': CNNs, MLPs and the rest. */
  family: 'any' | 'transformer';
  params: ParamSpec[];
}

export function compositeDeclarations(): CompositeDeclaration[] {
  return Object.entries(NAMED_COMPOSITES).map(([name, c]) => ({ name, description: c.description, family: c.form === 'gradient' ? 'transformer' : 'any', params: compositeParams(name) }));
}

/** Every composite parameter name has a declaration (checked by a test, so a new parameter cannot go undescribed). */
export const DECLARED_COMPOSITE_PARAMS: readonly string[] = Object.keys(PARAMS);
