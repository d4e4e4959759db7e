import { InvalidArgumentError } from '../../errors.js';
import type { MetricParams, NormaliseMode, ParamValue } from '../types.js';

/** Quantus' snake_case names map onto our camelCase ones: `features_in_step` → `featuresInStep`. */
export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Quantus parameter names that differ from ours by more than case (after camelCase): its `perturb_baseline` is our
 * `baseline`, Infidelity's `n_perturb_samples` / `perturb_patch_sizes` our `nrSamples` / `patchSizes`.
 */
const QUANTUS_ALIASES: Readonly<Record<string, string>> = {
  perturbBaseline: 'baseline',
  nPerturbSamples: 'nrSamples',
  perturbPatchSizes: 'patchSizes',
};

/** Our name of a parameter given in Quantus' or our spelling (undefined when the metric has neither). */
function ourName(rawKey: string, defaults: Readonly<MetricParams>): string | undefined {
  const key = camelCase(rawKey);
  if (key in defaults) return key;
  const alias = QUANTUS_ALIASES[key];
  return alias !== undefined && alias in defaults ? alias : undefined;
}

/**
 * Merges user parameters over a metric's defaults. A parameter the metric does not have is an error (a typo must
 * not silently fall back to a default); a number where a boolean belongs is an error too. String-valued
 * defaults accept any value: those parameters (normalise, baseline …) are checked by the metric itself.
 */
export function resolveParams(metric: string, defaults: Readonly<MetricParams>, given: Partial<MetricParams> = {}): MetricParams {
  const out: MetricParams = { ...defaults };
  for (const [rawKey, given0] of Object.entries(given)) {
    if (given0 === undefined) continue;
    const key = ourName(rawKey, defaults);
    // Quantus takes lists (perturb_patch_sizes=[4, 8]); ours are comma-separated strings.
    const value: ParamValue = Array.isArray(given0) && typeof defaults[key ?? ''] === 'string' ? (given0 as unknown[]).join(',') : given0;
    if (key === undefined) {
      throw new InvalidArgumentError(`${metric}.${rawKey}`, `metric '${metric}' has no parameter '${rawKey}'`, `its parameters: ${Object.keys(defaults).join(', ')}`);
    }
    const d = defaults[key]!;
    if (typeof d !== 'string' && typeof value !== typeof d) {
      throw new InvalidArgumentError(`${metric}.${rawKey}`, `expected a ${typeof d}, got ${JSON.stringify(value)}`);
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new InvalidArgumentError(`${metric}.${rawKey}`, `must be a finite number, got ${value}`);
    }
    out[key] = value;
  }
  return out;
}

export function numParam(metric: string, p: MetricParams, key: string, check?: { min?: number; integer?: boolean; max?: number }): number {
  const v = p[key];
  if (typeof v !== 'number') throw new InvalidArgumentError(`${metric}.${key}`, `expected a number, got ${JSON.stringify(v)}`);
  if (check?.integer && !Number.isInteger(v)) throw new InvalidArgumentError(`${metric}.${key}`, `must be an integer, got ${v}`);
  if (check?.min !== undefined && v < check.min) throw new InvalidArgumentError(`${metric}.${key}`, `must be ≥ ${check.min}, got ${v}`);
  if (check?.max !== undefined && v > check.max) throw new InvalidArgumentError(`${metric}.${key}`, `must be ≤ ${check.max}, got ${v}`);
  return v;
}

export function boolParam(metric: string, p: MetricParams, key: string): boolean {
  const v = p[key];
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`${metric}.${key}`, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

export function choiceParam<T extends string>(metric: string, p: MetricParams, key: string, choices: readonly T[]): T {
  const v = p[key];
  if (typeof v !== 'string' || !choices.includes(v as T)) {
    throw new InvalidArgumentError(`${metric}.${key}`, `unknown value ${JSON.stringify(v)}`, `one of: ${choices.join(', ')}`);
  }
  return v as T;
}

/** `true` means the metric's own normalisation (`whenTrue`: Quantus' default normalise_func for that metric). */
export function normaliseMode(metric: string, v: ParamValue | undefined, whenTrue: NormaliseMode = 'batch'): NormaliseMode {
  if (v === true) return whenTrue;
  if (v === false) return 'none';
  if (v === 'batch' || v === 'negative' || v === 'sample' || v === 'none') return v;
  throw new InvalidArgumentError(`${metric}.normalise`, `unknown value ${JSON.stringify(v)}`, `one of: batch, negative, sample, none (true = ${whenTrue}, false = none)`);
}
