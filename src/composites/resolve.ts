import type { Unit } from '../ir/unit.js';
import { UnsupportedNodeError } from '../errors.js';
import { getRule, type Rule } from '../rules/index.js';
import type { Composite, Matcher } from './types.js';

export interface RuleAssignment {
  rule: Rule;
  params: Record<string, number>;
}

function matches(m: Matcher, unit: Unit, isFirst: boolean): boolean {
  if (m.first !== undefined && m.first !== isFirst) return false;
  if (m.kind !== undefined && !(Array.isArray(m.kind) ? m.kind : [m.kind]).includes(unit.kind)) return false;
  if (m.opType !== undefined && !(Array.isArray(m.opType) ? m.opType : [m.opType]).includes(unit.opType)) return false;
  if (m.name !== undefined) {
    if (m.name.length > 2 && m.name.startsWith('/') && m.name.endsWith('/')) {
      if (!new RegExp(m.name.slice(1, -1)).test(unit.name)) return false;
    } else if (!unit.nodes.some((n) => n.name === m.name) && unit.name !== m.name) return false;
  }
  return true;
}

/**
 * Maps each unit to its rule under a composite. `firstLinear` is the first conv/dense unit on the input's path, in
 * topological order. A rule that needs a linear layer, matched to something else, is an error naming the node.
 */
export function assignRules(composite: Composite, units: readonly Unit[], firstLinear: Unit | undefined): Map<Unit, RuleAssignment> {
  const out = new Map<Unit, RuleAssignment>();
  for (const unit of units) {
    const entry = composite.entries.find((e) => matches(e.match, unit, unit === firstLinear));
    if (!entry) continue;
    const rule = getRule(entry.rule);
    if (rule.linearOnly && !unit.linear) {
      throw new UnsupportedNodeError(unit.name, unit.opType, `composite '${composite.name}' maps it to rule '${rule.name}', which needs a linear layer with constant weights`, 'map this node to epsilon, norm, pass or gradient instead');
    }
    out.set(unit, { rule, params: { ...rule.params, ...(entry.params ?? {}) } });
  }
  return out;
}
