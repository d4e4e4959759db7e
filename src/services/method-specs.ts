/**
 * What the workbench knows about each method's and composite's parameters: type, default, range and a one-line
 * description. The web UI builds its parameter forms from these (GET /api/methods), the service validates requests
 * against them and fills in the defaults, so a stored result's provenance names every value that produced it.
 *
 * Defaults are read from the library (METHOD_PARAMS, NAMED_COMPOSITES), never restated here, so they cannot drift.
 * This is the server's view until the method registry (src/methods/registry.ts) publishes the same declarations.
 */
import { NAMED_COMPOSITES } from '../composites/index.js';
import { InvalidArgumentError } from '../errors.js';
import { METHOD_PARAMS } from '../methods/explain.js';
import { METHOD_NAMES, type MethodName } from '../methods/types.js';

export interface ParamSpec {
  name: string;
  type: 'integer' | 'number' | 'boolean' | 'string' | 'enum';
  default?: number | string | boolean;
  min?: number;
  max?: number;
  values?: readonly string[];
  description: string;
}

export interface MethodDeclaration {
  name: MethodName;
  description: string;
  params: ParamSpec[];
  /** One forward/backward pass (lrp, gradients) rather than many (smoothgrad, IG, occlusion). */
  onePass: boolean;
  /** Runs in the browser (onnxruntime-web) as well as on the server. */
  device: boolean;
  /** Explains token (text) models at their embeddings. */
  tokenInputs: boolean;
}

export interface CompositeDeclaration {
  name: string;
  description: string;
  /** 'transformer': meant for attention models (AttnLRP family); 'any': CNNs, MLPs and the rest. */
  family: 'any' | 'transformer';
  params: ParamSpec[];
}

/** Range and wording of each parameter; the default comes from the library. */
const PARAM_INFO: Record<string, Omit<ParamSpec, 'name' | 'default'>> = {
  noiseLevel: { type: 'number', min: 0, max: 1, description: 'noise standard deviation as a fraction of the input range' },
  samples: { type: 'integer', min: 1, max: 256, description: 'noisy copies averaged (the last one noise-free)' },
  seed: { type: 'integer', min: 0, max: 2 ** 31 - 1, description: 'random seed of the noise' },
  steps: { type: 'integer', min: 1, max: 512, description: 'points on the path from the baseline to the input' },
  baseline: { type: 'number', min: -1e6, max: 1e6, description: 'value of the all-constant baseline input' },
  window: { type: 'integer', min: 1, max: 1024, description: 'side of the square patch that is occluded' },
  stride: { type: 'integer', min: 1, max: 1024, description: 'step between occluded patches' },
  fill: { type: 'number', min: -1e6, max: 1e6, description: 'value written into the occluded patch' },
  epsilon: { type: 'number', min: 0, max: 1e6, description: 'ε of the Epsilon rule: absorbs weak or contradictory relevance' },
  stabilizer: { type: 'number', min: 0, max: 1, description: 'added to denominators to avoid division by zero' },
  gamma: { type: 'number', min: 0, max: 1e6, description: 'γ of the Gamma rule: how much positive contributions are favoured' },
  low: { type: 'number', min: -1e6, max: 1e6, description: 'ZBox lower input bound (empty: the input’s minimum)' },
  high: { type: 'number', min: -1e6, max: 1e6, description: 'ZBox upper input bound (empty: the input’s maximum)' },
};

const METHOD_INFO: Record<MethodName, string> = {
  lrp: 'Layer-wise Relevance Propagation with a composite of rules',
  gradient: 'the gradient of the score with respect to the input',
  'gradient-x-input': 'gradient times input',
  smoothgrad: 'gradient averaged over noisy copies of the input',
  'integrated-gradients': 'gradient integrated along a straight path from a baseline',
  occlusion: 'score drop when a patch of the input is replaced',
  'grad-cam': 'class activation map at a convolutional layer',
};

const DEVICE: readonly MethodName[] = ['lrp', 'gradient', 'gradient-x-input'];
const ONE_PASS: readonly MethodName[] = ['lrp', 'gradient', 'gradient-x-input', 'grad-cam'];
const TOKENS: readonly MethodName[] = ['lrp', 'gradient', 'gradient-x-input'];

function spec(name: string, def: number): ParamSpec {
  const info = PARAM_INFO[name] ?? { type: 'number' as const, description: name };
  // NaN defaults mean "derived from the input" (ZBox bounds) and are published without a default.
  return { name, ...info, ...(Number.isFinite(def) ? { default: def } : {}) };
}

export function methodDeclarations(): MethodDeclaration[] {
  return METHOD_NAMES.map((name) => ({
    name,
    description: METHOD_INFO[name],
    params: [
      ...Object.entries(METHOD_PARAMS[name]).map(([k, v]) => spec(k, v)),
      ...(name === 'grad-cam' ? [{ name: 'layer', type: 'string' as const, description: 'tensor whose activations and gradients make the map (empty: the input of the last global pooling or Flatten)' }] : []),
    ],
    onePass: ONE_PASS.includes(name),
    device: DEVICE.includes(name),
    tokenInputs: TOKENS.includes(name),
  }));
}

export function compositeDeclarations(): CompositeDeclaration[] {
  return Object.entries(NAMED_COMPOSITES).map(([name, c]) => ({
    name,
    description: c.description,
    family: c.form === 'gradient' ? 'transformer' : 'any',
    params: Object.entries(c.params).map(([k, v]) => spec(k, v)),
  }));
}

export type ParamValues = Record<string, number | string>;

/**
 * Checks request parameters against the declarations (known names, types, ranges) and fills in every default, so
 * the same explanation asked with and without its defaults spelled out is the same provenance. Errors name the
 * parameter as the form does (`params.steps`), never a CLI flag.
 */
export function completeParams(method: MethodName, composite: string | null, given: ParamValues): ParamValues {
  const specs = [...methodDeclarations().find((m) => m.name === method)!.params, ...(composite ? compositeDeclarations().find((c) => c.name === composite)?.params ?? [] : [])];
  const out: ParamValues = {};
  for (const [k, v] of Object.entries(given)) {
    const s = specs.find((p) => p.name === k);
    if (!s) {
      const names = specs.map((p) => p.name);
      throw new InvalidArgumentError(`params.${k}`, `${method}${composite ? ` with ${composite}` : ''} has no parameter '${k}'`, names.length ? `its parameters: ${names.join(', ')}` : 'it takes no parameters');
    }
    if (s.type === 'string') {
      if (typeof v !== 'string' || v.length > 256) throw new InvalidArgumentError(`params.${k}`, 'must be a text of at most 256 characters');
      if (v !== '') out[k] = v;
      continue;
    }
    const n = typeof v === 'number' ? v : v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`params.${k}`, `'${v}' is not a number`);
    if (s.type === 'integer' && !Number.isInteger(n)) throw new InvalidArgumentError(`params.${k}`, `must be a whole number, not ${n}`);
    if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) throw new InvalidArgumentError(`params.${k}`, `${n} is outside ${s.min} … ${s.max}`);
    out[k] = n;
  }
  for (const s of specs) if (!(s.name in out) && typeof s.default === 'number') out[s.name] = s.default;
  // Sorted keys: one canonical form for provenance and for deduplicating equal requests.
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
