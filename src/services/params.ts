/**
 * Request parameters checked against the declarations of the method registry (src/methods/registry.ts) and the
 * named composites (src/composites/params.ts), with every default filled in: a stored result's provenance names
 * every value that produced it, and the same explanation asked with and without its defaults spelled out is the
 * same record. Errors name the parameter as the web form and the API do (`params.steps`), never a CLI flag.
 */
import { compositeParams } from '../composites/index.js';
import { InvalidArgumentError } from '../errors.js';
import { getMethod, type MethodName } from '../methods/registry.js';
import { checkValue, METHOD_LIMITS, type LimitOverrides } from '../methods/limits.js';
import type { ParamSpec } from '../param-spec.js';

export type ParamValues = Record<string, number | string>;

/** The declarations that apply to a method (with its composite's, for lrp). */
export function declaredParams(method: MethodName, composite: string | null): ParamSpec[] {
  return [...getMethod(method, 'method').params, ...(composite ? compositeParams(composite) : [])];
}

/**
 * `limits`: the server's overrides of the limits table (src/methods/limits.ts); a parameter that table bounds is
 * checked there, so a maximum raised by the server is honoured and one exceeded is a 422 "limit exceeded".
 */
export function completeParams(method: MethodName, composite: string | null, given: ParamValues, limits: LimitOverrides = {}): ParamValues {
  const specs = declaredParams(method, composite);
  const out: ParamValues = {};
  for (const [k, v] of Object.entries(given)) {
    const s = specs.find((p) => p.name === k);
    if (!s) {
      const names = specs.map((p) => p.name);
      throw new InvalidArgumentError(`params.${k}`, `${method}${composite ? ` with ${composite}` : ''} has no parameter '${k}'`, names.length ? `its parameters: ${names.join(', ')}` : 'it takes no parameters');
    }
    if (s.type === 'string' || s.type === 'enum') {
      if (typeof v !== 'string' || v.length > 256) throw new InvalidArgumentError(`params.${k}`, 'must be a text of at most 256 characters');
      if (s.type === 'enum' && s.values && !s.values.includes(v)) throw new InvalidArgumentError(`params.${k}`, `'${v}' is not one of ${s.values.join(', ')}`);
      if (v !== '') out[k] = v;
      continue;
    }
    const n = typeof v === 'number' ? v : v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`params.${k}`, `'${v}' is not a number`);
    if (s.type === 'integer' && !Number.isInteger(n)) throw new InvalidArgumentError(`params.${k}`, `must be a whole number, not ${n}`);
    if (k in (METHOD_LIMITS[method] ?? {})) checkValue(`${method}.${k}`, n, limits);
    else if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) throw new InvalidArgumentError(`params.${k}`, `${n} is outside ${s.min ?? '−∞'} … ${s.max ?? '∞'}`);
    out[k] = n;
  }
  for (const s of specs) if (!(s.name in out) && s.default !== undefined && typeof s.default !== 'boolean') out[s.name] = s.default;
  // Sorted keys: one canonical form for provenance and for deduplicating equal requests.
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The numeric values (what the library's explain() takes), Grad-CAM's layer name and CRP's conditions. */
export function splitParams(params: ParamValues): { numeric: Record<string, number>; layer?: string; conditions?: string } {
  const numeric: Record<string, number> = {};
  for (const [k, v] of Object.entries(params)) if (typeof v === 'number') numeric[k] = v;
  return { numeric, ...(typeof params.layer === 'string' ? { layer: params.layer } : {}), ...(typeof params.conditions === 'string' ? { conditions: params.conditions } : {}) };
}
