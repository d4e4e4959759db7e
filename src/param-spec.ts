/**
 * The declaration of one parameter of a method or composite: its type, default, range and a one-line description.
 * Methods (src/methods/) and composites (src/composites/params.ts) declare theirs with it; the CLI's --help, the
 * API's request validation and GET /api/methods, and stored provenance all read these declarations.
 */
import { InvalidArgumentError } from './errors.js';

export interface ParamSpec {
  name: string;
  type: 'integer' | 'number' | 'boolean' | 'string' | 'enum';
  /** Absent: no fixed default (e.g. ZBox bounds, which default to the input's range). */
  default?: number | string | boolean;
  min?: number;
  max?: number;
  /** The allowed values of an 'enum'. */
  values?: readonly string[];
  description: string;
}

/** The numeric defaults of a list of declarations (NaN where a number has no fixed default). */
export function numericDefaults(specs: readonly ParamSpec[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of specs) if (s.type === 'integer' || s.type === 'number') out[s.name] = typeof s.default === 'number' ? s.default : Number.NaN;
  return out;
}

/** `name (default d, min–max): description` — how --help and error hints list a parameter. */
export function describeParam(s: ParamSpec): string {
  const range = s.min !== undefined || s.max !== undefined ? `${s.min ?? '−∞'}–${s.max ?? '∞'}` : '';
  const def = s.default !== undefined ? `default ${String(s.default)}` : '';
  const meta = [s.type, def, range].filter(Boolean).join(', ');
  return `${s.name} (${meta}): ${s.description}`;
}
