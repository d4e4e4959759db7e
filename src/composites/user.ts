import { UNIT_KINDS, type UnitKind } from '../ir/unit.js';
import { InvalidArgumentError } from '../errors.js';
import { getRule, type Rule } from '../rules/index.js';
import type { Composite, CompositeEntry, Matcher } from './types.js';
import { namedComposite } from './named.js';

/** The rule of entry i; an unknown name is reported against the composite's source and entry, not as a bare 'rule'. */
function ruleOf(name: string, source: string, i: number): Rule {
  try {
    return getRule(name);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new InvalidArgumentError(source, `entries[${i}].rule: unknown rule '${name}'`, e.hint);
    throw e;
  }
}

/**
 * Validates a user-defined composite given as a plain object (parsed JSON):
 * { "name": "...", "entries": [ { "match": { "kind": "conv" }, "rule": "gamma", "params": { "gamma": 0.5 } }, … ] }
 */
export function parseComposite(value: unknown, source = 'composite'): Composite {
  const fail = (msg: string): never => {
    throw new InvalidArgumentError(source, msg, 'see README, "User-defined composites"');
  };
  if (typeof value !== 'object' || value === null) fail('must be a JSON object');
  const obj = value as Record<string, unknown>;
  if (!Array.isArray(obj.entries)) fail("needs an 'entries' array");
  const entries = (obj.entries as unknown[]).map((e, i): CompositeEntry => {
    if (typeof e !== 'object' || e === null) fail(`entries[${i}] must be an object`);
    const entry = e as Record<string, unknown>;
    if (typeof entry.rule !== 'string') fail(`entries[${i}].rule must be a rule name`);
    const rule = ruleOf(entry.rule as string, source, i);
    // A match that is not an object would otherwise match every unit.
    if (entry.match !== undefined && (typeof entry.match !== 'object' || entry.match === null || Array.isArray(entry.match))) fail(`entries[${i}].match must be an object such as { "kind": "conv" }`);
    const m = (entry.match ?? {}) as Record<string, unknown>;
    const match: Matcher = {};
    for (const key of Object.keys(m)) if (!['kind', 'opType', 'name', 'first'].includes(key)) fail(`entries[${i}].match has unknown field '${key}' (use kind, opType, name, first)`);
    if (m.kind !== undefined) {
      const kinds = (Array.isArray(m.kind) ? m.kind : [m.kind]) as unknown[];
      for (const k of kinds) if (!UNIT_KINDS.includes(k as UnitKind)) fail(`entries[${i}].match.kind '${String(k)}' is not one of ${UNIT_KINDS.join(', ')}`);
      match.kind = kinds as UnitKind[];
    }
    if (m.opType !== undefined) {
      if (!(typeof m.opType === 'string' || (Array.isArray(m.opType) && m.opType.every((o) => typeof o === 'string')))) fail(`entries[${i}].match.opType must be an op type or a list of them`);
      match.opType = m.opType as string | string[];
    }
    if (m.name !== undefined) {
      if (typeof m.name !== 'string') fail(`entries[${i}].match.name must be a string`);
      match.name = m.name as string;
      // '/…/' is a regular expression over node names: compile it here, so a bad one names its entry (it was an
      // internal error when the rules were assigned).
      if (match.name.length > 2 && match.name.startsWith('/') && match.name.endsWith('/')) {
        try {
          new RegExp(match.name.slice(1, -1));
        } catch (e) {
          fail(`entries[${i}].match.name: invalid regular expression ${match.name} (${(e as Error).message})`);
        }
      }
    }
    if (m.first !== undefined) {
      if (typeof m.first !== 'boolean') fail(`entries[${i}].match.first must be true or false`);
      match.first = m.first as boolean;
    }
    const params: Record<string, number> = { ...rule.params };
    const given = (entry.params ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(given)) {
      if (!(k in rule.params)) fail(`entries[${i}]: rule '${rule.name}' has no parameter '${k}' (it has: ${Object.keys(rule.params).join(', ') || 'none'})`);
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`entries[${i}].params.${k} must be a finite number`);
      params[k] = v as number;
    }
    return { match, rule: rule.name, params };
  });
  // "extends": a named composite whose entries follow the user's (first match wins, so the user's entries override).
  let base: Composite | undefined;
  if (obj.extends !== undefined) {
    if (typeof obj.extends !== 'string') fail("'extends' must be the name of a built-in composite");
    try {
      base = namedComposite(obj.extends as string);
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw new InvalidArgumentError(source, `'extends': unknown composite '${obj.extends as string}'`, e.hint);
      throw e;
    }
  }
  let form = base?.form;
  if (obj.form !== undefined) {
    if (obj.form !== 'relevance' && obj.form !== 'gradient') fail("'form' must be 'relevance' or 'gradient'");
    form = obj.form as 'relevance' | 'gradient';
  }
  return {
    name: typeof obj.name === 'string' ? obj.name : 'user',
    description: typeof obj.description === 'string' ? obj.description : undefined,
    entries: [...entries, ...(base?.entries ?? [])],
    ...(form ? { form } : {}),
  };
}
