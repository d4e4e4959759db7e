import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FileFormatError, XsysError } from '../errors.js';
import { toFloat32 } from '../io/npy.js';
import { readNpy } from '../io/npy-file.js';
import { explain } from '../methods/explain.js';
import { ModelExplainer } from '../methods/explainer.js';
import { ExplainSession } from '../methods/session.js';
import { readModel } from '../onnx/file.js';
import { nodeRuntime } from '../runtime/node.js';
import { METHOD_NAMES, type MethodName } from '../methods/types.js';
import { FEEDS_METHODS, MultiInputExplainer, type FeedsMethod } from '../methods/multi-input.js';
import { feedFromArray, type Feed } from '../runtime/feeds.js';
import { NAMED_COMPOSITES, ZENNIT_PREFIX } from '../composites/index.js';

/**
 * The composite a case runs with. A manifest whose reference is Zennit (or zennit-crp) names Zennit's composites, so
 * its cases run them as Zennit computes them — `zennit:<name>`, without what xsys adds for gates and products of
 * activations, which Zennit has no rule for (src/composites/named.ts).
 */
export function referenceComposite(reference: unknown, composite: string | undefined): string | undefined {
  if (composite === undefined || typeof reference !== 'string' || !/^zennit/i.test(reference.trim())) return composite;
  const key = composite.toLowerCase().replace(/_/g, '-');
  return NAMED_COMPOSITES[key]?.zennit ? `${ZENNIT_PREFIX}${key}` : composite;
}

/** One case of a conformance manifest (the format of ../shared/conformance/manifest.json). */
export interface ConformanceCase {
  id: string;
  model: string;
  /** Single-input manifests: the input .npy. */
  input?: string;
  /** Multi-input manifests (transformers): graph input name → .npy (int64 ids and masks, float32 images). */
  inputs?: Record<string, string>;
  /** Where the relevance is compared: 'input' (the float input, its shape) or 'token' ([batch, tokens]). */
  relevance_at?: 'input' | 'token';
  method: string;
  targets: number[];
  seed?: 'logit' | 'onehot';
  expected: string;
  composite?: string;
  params?: Record<string, number>;
  steps?: number;
  baseline?: string | number;
  window?: number;
  stride?: number;
  fill?: number;
  layer?: string;
  noise_level?: number;
  n_iter?: number;
}

export interface ConformanceCaseResult {
  id: string;
  pass: boolean;
  /** max |got − expected| / max |expected| */
  relativeError: number;
  tolerance: number;
  ms: number;
  error?: string;
}

export interface ConformanceReport {
  manifest: string;
  tolerance: number;
  cases: ConformanceCaseResult[];
  passed: number;
  failed: number;
}

function caseParams(c: ConformanceCase): Record<string, number> {
  switch (c.method) {
    case 'lrp':
      return c.params ?? {};
    case 'integrated-gradients':
      return { steps: c.steps ?? 20, baseline: typeof c.baseline === 'number' ? c.baseline : 0 };
    case 'occlusion':
      return { window: c.window ?? 8, stride: c.stride ?? 4, fill: c.fill ?? 0 };
    case 'smoothgrad':
      return { ...(c.noise_level !== undefined ? { noiseLevel: c.noise_level } : {}), ...(c.n_iter !== undefined ? { samples: c.n_iter } : {}) };
    default:
      return {};
  }
}

/**
 * Runs every case of a manifest and compares with the reference by the manifest's tolerance
 * (max |got − expected| ≤ tol · max |expected|). A case that throws is a failure with its message, not a crash.
 */
export async function runConformance(manifestPath: string, options: { filter?: string; onCase?: (r: ConformanceCaseResult) => void } = {}): Promise<ConformanceReport> {
  let manifest: { reference?: unknown; tolerance?: { relative_linf?: number }; cases?: ConformanceCase[] };
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (e) {
    throw new FileFormatError(manifestPath, `cannot read manifest (${(e as Error).message})`);
  }
  if (!Array.isArray(manifest.cases)) throw new FileFormatError(manifestPath, "not a conformance manifest: no 'cases' array");
  const tol = manifest.tolerance?.relative_linf ?? 5e-4;
  const base = dirname(resolve(manifestPath));
  // One session per model, whichever front end (one float input, several named inputs) a case uses.
  const sessions = new Map<string, Promise<ExplainSession>>();
  const sessionOf = (modelPath: string): Promise<ExplainSession> => {
    let s = sessions.get(modelPath);
    if (!s) {
      s = readModel(modelPath).then((m) => new ExplainSession(m, nodeRuntime()));
      sessions.set(modelPath, s);
    }
    return s;
  };
  const results: ConformanceCaseResult[] = [];
  for (const c of manifest.cases) {
    if (options.filter && !c.id.includes(options.filter)) continue;
    const result = await runCase(c.id, tol, async () => {
      if (!METHOD_NAMES.includes(c.method as MethodName)) throw new XsysError(`unknown method '${c.method}'`);
      const modelPath = resolve(base, c.model);
      if (c.inputs || c.relevance_at) {
        const got = await runMultiInputCase(new MultiInputExplainer(await sessionOf(modelPath)), c, base);
        const expected = await readNpy(resolve(base, c.expected));
        return compare(got, expected.data as Float64Array | Float32Array, expected.shape);
      }
      if (!c.input) throw new XsysError(`case '${c.id}' has neither 'input' nor 'inputs'`);
      const mx = new ModelExplainer(await sessionOf(modelPath));
      const x = await readNpy(resolve(base, c.input));
      const expected = await readNpy(resolve(base, c.expected));
      const method = c.method as MethodName;
      const methodName = c.method === 'gradient-x-input' ? 'gradient-x-input' : method;
      const e = await explain(mx, { data: toFloat32(x), dims: x.shape }, {
        method: methodName,
        composite: referenceComposite(manifest.reference, c.composite),
        params: caseParams(c),
        target: c.targets,
        layer: c.layer,
      });
      return compare(e.attribution.data, expected.data as Float64Array | Float32Array, expected.shape);
    });
    results.push(result);
    options.onCase?.(result);
  }
  const passed = results.filter((r) => r.pass).length;
  return { manifest: manifestPath, tolerance: tol, cases: results, passed, failed: results.length - passed };
}

/** Runs one case: its relative error against `tol`, or the error it threw, with its wall time. */
export async function runCase(id: string, tol: number, measure: () => Promise<number>): Promise<ConformanceCaseResult> {
  const t0 = performance.now();
  try {
    const rel = await measure();
    return { id, pass: rel <= tol, relativeError: rel, tolerance: tol, ms: performance.now() - t0 };
  } catch (err) {
    return { id, pass: false, relativeError: Number.NaN, tolerance: tol, ms: performance.now() - t0, error: (err as Error).message };
  }
}

/** max |got − expected| / max |expected| over one array (the absolute difference when the reference is all zeros). */
export function relativeError(got: ArrayLike<number>, exp: ArrayLike<number | bigint>, what: string): number {
  if (got.length !== exp.length) throw new XsysError(`${what}: ${got.length} values, expected ${exp.length}`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < got.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(got[i]! - Number(exp[i])));
    maxRef = Math.max(maxRef, Math.abs(Number(exp[i])));
  }
  return maxRef > 0 ? maxDiff / maxRef : maxDiff;
}

function compare(got: Float32Array, exp: Float64Array | Float32Array, shape: number[]): number {
  if (got.length !== exp.length) throw new XsysError(`attribution has ${got.length} values, expected ${exp.length} (shape [${shape.join(', ')}])`);
  return relativeError(got, exp, 'attribution');
}

/** A transformer case: named inputs of any dtype, relevance at the float input or per token. */
async function runMultiInputCase(mx: MultiInputExplainer, c: ConformanceCase, base: string): Promise<Float32Array> {
  if (!FEEDS_METHODS.includes(c.method as FeedsMethod)) throw new XsysError(`method '${c.method}' is not supported for multi-input cases (${FEEDS_METHODS.join(', ')})`);
  const files = c.inputs ?? (c.input ? { [mx.inputs.find((i) => i.dtype === 'float32')?.name ?? mx.inputs[0]!.name]: c.input } : {});
  const feeds: Record<string, Feed> = {};
  for (const [name, file] of Object.entries(files)) {
    const want = mx.inputs.find((i) => i.name === name);
    if (!want) throw new XsysError(`case '${c.id}': the model has no input '${name}' (inputs: ${mx.inputs.map((i) => i.name).join(', ')})`);
    feeds[name] = feedFromArray(name, await readNpy(resolve(base, file)), want);
  }
  const e = await mx.explain(feeds, {
    method: c.method as FeedsMethod,
    composite: c.composite,
    params: c.params,
    target: c.targets,
    seedMode: c.seed === 'onehot' ? 'direct' : c.seed === 'logit' ? 'logit' : undefined,
  });
  if ((c.relevance_at ?? 'input') === 'token') {
    if (!e.tokenRelevance) throw new XsysError(`case '${c.id}': relevance_at 'token', but the model has no token-embedding lookup`);
    return e.tokenRelevance.data;
  }
  const floats = Object.keys(e.attributions);
  if (floats.length !== 1) throw new XsysError(`case '${c.id}': relevance_at 'input' needs exactly one float input, the model has ${floats.length}`);
  return e.attributions[floats[0]!]!.data;
}
