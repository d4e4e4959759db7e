/**
 * One table of the bounds every method parameter and every input must respect, so that no request can make xsys do
 * unbounded work (issue 10, defect 5) and no invalid value is silently clamped (defect 9). Plain data — method →
 * parameter → {min, max, integer, description} — so the method registry's ParamSpecs can take their `max` from it.
 *
 * The server may raise or lower any maximum (`xsys serve --limit key=value`, ServerOptions.limits); the keys are
 * `<method>.<param>` and `input.<name>`. Beyond a maximum the server answers 422 and the CLI exits 2. The README's
 * governance section lists the defaults; keep the two in step.
 */
import { COMPOSITE_PARAM_SPECS } from '../composites/params.js';
import { InvalidArgumentError, LimitExceededError } from '../errors.js';

export interface ParamLimit {
  min: number;
  max: number;
  /** The value must be a whole number (counts, sizes, seeds). */
  integer?: boolean;
  /** min itself is not allowed (a window of size 0, a noise level of exactly 0 are allowed only where stated). */
  minExclusive?: boolean;
  description: string;
}

/**
 * Composite parameters (LRP rules): their bounds are declared once, with the composites (src/composites/params.ts);
 * the same bounds apply under every method that takes a composite (lrp, crp).
 */
const COMPOSITE_PARAMS: Record<string, ParamLimit> = Object.fromEntries(
  Object.entries(COMPOSITE_PARAM_SPECS).map(([k, s]) => [k, { min: s.min, max: s.max, description: s.description }]),
);

export const METHOD_LIMITS: Readonly<Record<string, Readonly<Record<string, ParamLimit>>>> = {
  lrp: COMPOSITE_PARAMS,
  gradient: {},
  'gradient-x-input': {},
  smoothgrad: {
    samples: { min: 1, max: 256, integer: true, description: 'noisy copies averaged per input' },
    noiseLevel: { min: 0, max: 10, description: 'noise standard deviation, as a fraction of the input range' },
    seed: { min: 0, max: 2 ** 32 - 1, integer: true, description: 'random seed of the noise' },
  },
  'integrated-gradients': {
    steps: { min: 1, max: 512, integer: true, description: 'points on the path from the baseline to the input' },
    baseline: { min: -1e6, max: 1e6, description: 'constant baseline input' },
  },
  occlusion: {
    window: { min: 1, max: 4096, integer: true, description: 'side of the occluding window (spatial elements); at most the input size' },
    stride: { min: 1, max: 4096, integer: true, description: 'step between windows' },
    fill: { min: -1e6, max: 1e6, description: 'value written into the occluded window' },
  },
  'grad-cam': {},
  crp: COMPOSITE_PARAMS,
};

/** Bounds on the inputs of one request. */
export const INPUT_LIMITS: Readonly<Record<string, ParamLimit>> = {
  elements: { min: 1, max: 2 ** 24, integer: true, description: 'elements of one input batch (all samples, channels and pixels)' },
  batch: { min: 1, max: 256, integer: true, description: 'samples in one input batch' },
  evaluations: { min: 1, max: 65_536, integer: true, description: 'model evaluations one explanation may need (batch × SmoothGrad samples, × IG steps, × occlusion windows)' },
  threads: { min: 1, max: 256, integer: true, description: 'ONNX Runtime intra-op threads' },
};

/** Maxima overridden by key (`smoothgrad.samples`, `input.elements` …). */
export type LimitOverrides = Readonly<Record<string, number>>;

/** The default {min, max} of a method parameter: what the method registry's ParamSpec declares (one source). */
export function bounds(method: string, param: string): { min: number; max: number } {
  const l = METHOD_LIMITS[method]?.[param];
  if (!l) throw new Error(`no limit declared for ${method}.${param}`);
  return { min: l.min, max: l.max };
}

/** Every overridable key with its default maximum and description (for `xsys serve --help` and the README). */
export function limitKeys(): { key: string; max: number; description: string }[] {
  const out: { key: string; max: number; description: string }[] = [];
  for (const [name, l] of Object.entries(INPUT_LIMITS)) out.push({ key: `input.${name}`, max: l.max, description: l.description });
  for (const [method, params] of Object.entries(METHOD_LIMITS)) for (const [name, l] of Object.entries(params)) out.push({ key: `${method}.${name}`, max: l.max, description: l.description });
  return out;
}

/** Checks `key=value` overrides: known keys, positive finite values. */
export function parseLimitOverrides(items: readonly string[]): Record<string, number> {
  const known = new Map(limitKeys().map((k) => [k.key, k]));
  const out: Record<string, number> = {};
  for (const item of items) {
    const at = item.indexOf('=');
    const key = at > 0 ? item.slice(0, at).trim() : item;
    const value = at > 0 ? Number(item.slice(at + 1)) : Number.NaN;
    if (!known.has(key)) throw new InvalidArgumentError('--limit', `unknown limit '${key}'`, `limits: ${[...known.keys()].join(', ')}`);
    if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('--limit', `${key} must be a positive number (got '${item.slice(at + 1)}')`, 'e.g. --limit smoothgrad.samples=512');
    out[key] = value;
  }
  return out;
}

/** The maximum in force for a key. */
export function maxOf(key: string, overrides: LimitOverrides = {}): number {
  if (key in overrides) return overrides[key]!;
  const [group, name] = key.split('.', 2) as [string, string];
  const l = group === 'input' ? INPUT_LIMITS[name] : METHOD_LIMITS[group]?.[name];
  if (!l) throw new Error(`no limit '${key}'`);
  return l.max;
}

/** Throws unless `value` lies within the bounds (min from the table, max possibly overridden). */
export function checkValue(key: string, value: number, overrides: LimitOverrides = {}): void {
  const [group, name] = key.split('.', 2) as [string, string];
  const l = group === 'input' ? INPUT_LIMITS[name] : METHOD_LIMITS[group]?.[name];
  if (!l) return;
  const max = maxOf(key, overrides);
  const arg = group === 'input' ? name : `--param ${name}`;
  if (!Number.isFinite(value)) throw new InvalidArgumentError(arg, `must be a finite number (got ${value})`, l.description);
  if (l.integer && !Number.isInteger(value)) throw new InvalidArgumentError(arg, `must be a whole number (got ${value})`, l.description);
  if (value < l.min || (l.minExclusive && value === l.min)) throw new InvalidArgumentError(arg, `must be ${l.minExclusive ? '>' : '≥'} ${l.min} (got ${value})`, l.description);
  if (value > max) throw new LimitExceededError(group === 'input' ? `input ${name}` : `${group} ${name}`, value, max, `${l.description}; a server can raise it with --limit ${key}=<n>`, key);
}

/** Checks every given parameter of a method (unknown names are the method's own business). */
export function checkMethodParams(method: string, params: Readonly<Record<string, number>>, overrides: LimitOverrides = {}): void {
  const table = METHOD_LIMITS[method] ?? {};
  for (const [name, value] of Object.entries(params)) if (name in table) checkValue(`${method}.${name}`, value, overrides);
}

/** How many model evaluations a method needs for `batch` inputs (occlusion: the number of window positions). */
export function evaluationsOf(method: string, params: Readonly<Record<string, number>>, batch: number, spatial: readonly number[]): number {
  if (method === 'smoothgrad') return batch * (params.samples ?? 20);
  if (method === 'integrated-gradients') return batch * (params.steps ?? 20);
  if (method === 'occlusion') {
    const win = params.window ?? 8;
    const stride = params.stride ?? 4;
    return batch * spatial.reduce((a, d) => a * (Math.floor((d - Math.min(win, d)) / stride) + 1), 1);
  }
  return batch;
}

/** Checks an input's size and the work a method would do on it, before any of it is done. */
export function checkWork(method: string, params: Readonly<Record<string, number>>, dims: readonly number[], overrides: LimitOverrides = {}): void {
  const batch = dims[0] ?? 1;
  const elements = dims.reduce((a, b) => a * b, 1);
  if (dims.length === 0) throw new InvalidArgumentError('input', 'is a scalar; inputs have a batch axis first', 'pass an array of shape [batch, …]');
  if (batch === 0 || elements === 0) throw new InvalidArgumentError('input', `is empty (shape [${dims.join(', ')}])`, 'pass at least one sample');
  checkValue('input.batch', batch, overrides);
  checkValue('input.elements', elements, overrides);
  const rest = dims.slice(1);
  const spatial = rest.length >= 3 ? rest.slice(1) : rest;
  if (method === 'occlusion') {
    const win = params.window ?? 8;
    const tooBig = spatial.find((d) => win > d);
    if (tooBig !== undefined) throw new InvalidArgumentError('--param window', `the occlusion window (${win}) is larger than the input (spatial size ${spatial.join('×')})`, 'choose a window at most the input size');
  }
  checkValue('input.evaluations', evaluationsOf(method, params, batch, spatial), overrides);
}
