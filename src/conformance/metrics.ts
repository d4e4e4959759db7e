/**
 * Conformance of the evaluation metrics with reference values (the format of ../shared/metrics-conformance:
 * cases of { id, metric, params, x, y, a, s, model?, expected: one value or one curve per sample, tolerance }).
 * A case passes when every |got − expected| ≤ tolerance · max(1, |expected|); the report has the shape of the
 * explanation conformance report, with relativeError = max |got − expected| / max(1, |expected|).
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FileFormatError, InputDataError, XsysError } from '../errors.js';
import { toFloat32, type NdArray } from '../io/npy.js';
import { readNpy } from '../io/npy-file.js';
import { readModel } from '../onnx/file.js';
import { createSession, runSession } from '../runtime/session.js';
import { getMetric } from '../metrics/index.js';
import type { MetricParams, ScoreFn } from '../metrics/types.js';
import { runCase, type ConformanceCaseResult, type ConformanceReport } from './run.js';

export interface MetricsConformanceCase {
  id: string;
  metric: string;
  params?: MetricParams;
  x: string;
  y: string;
  a: string;
  s?: string;
  model?: string;
  expected: (number | null | number[])[];
  tolerance: number;
  seed?: number;
}

interface MetricsManifest {
  version?: number;
  cases: MetricsConformanceCase[];
}

/** Whether parsed JSON is a metrics manifest (its cases name a `metric` and inline `expected` values). */
export function isMetricsManifestJson(json: unknown): boolean {
  const cases = (json as { cases?: unknown })?.cases;
  return Array.isArray(cases) && cases.length > 0 && cases.every((c) => typeof (c as MetricsConformanceCase).metric === 'string' && Array.isArray((c as MetricsConformanceCase).expected));
}

/** Whether the file at `path` is a metrics conformance manifest (false for unreadable files: the caller reports those). */
export async function isMetricsManifest(path: string): Promise<boolean> {
  try {
    return isMetricsManifestJson(JSON.parse(await readFile(path, 'utf8')));
  } catch {
    return false;
  }
}

/** A ScoreFn on ONNX Runtime: one run per call, first input, first output. */
export async function onnxScoreFn(modelPath: string): Promise<ScoreFn> {
  const model = await readModel(modelPath);
  const session = await createSession(model);
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  return async (x, shape) => {
    const out = await runSession(session, { [inputName]: { data: x, dims: [...shape] } });
    return out[outputName]!.data;
  };
}

function toInt32(a: NdArray, file: string): Int32Array {
  const out = new Int32Array(a.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = Number(a.data[i]!);
    if (!Number.isInteger(v)) throw new InputDataError(`${file}: label ${v} at index ${i} is not an integer`);
    out[i] = v;
  }
  return out;
}

/** Largest |got − expected| / max(1, |expected|); a NaN on one side only counts as an infinite error. */
function relativeError(got: ArrayLike<number>, expected: ArrayLike<number | null>): number {
  if (got.length !== expected.length) throw new XsysError(`got ${got.length} values, expected ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const e = expected[i] === null ? Number.NaN : Number(expected[i]);
    const g = got[i]!;
    if (Number.isNaN(e) || Number.isNaN(g)) {
      if (!(Number.isNaN(e) && Number.isNaN(g))) return Infinity;
      continue;
    }
    worst = Math.max(worst, Math.abs(g - e) / Math.max(1, Math.abs(e)));
  }
  return worst;
}

export async function runMetricsConformance(manifestPath: string, options: { filter?: string; onCase?: (r: ConformanceCaseResult) => void } = {}): Promise<ConformanceReport> {
  let manifest: MetricsManifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (e) {
    throw new FileFormatError(manifestPath, `cannot read manifest (${(e as Error).message})`);
  }
  if (!isMetricsManifestJson(manifest)) throw new FileFormatError(manifestPath, "not a metrics conformance manifest: cases need 'metric' and 'expected'");
  const base = dirname(resolve(manifestPath));
  const arrays = new Map<string, Promise<NdArray>>();
  const load = (p: string): Promise<NdArray> => {
    const full = resolve(base, p);
    let v = arrays.get(full);
    if (!v) arrays.set(full, (v = readNpy(full)));
    return v;
  };
  const scorers = new Map<string, Promise<ScoreFn>>();
  const results: ConformanceCaseResult[] = [];
  let maxTol = 0;
  for (const c of manifest.cases) {
    if (options.filter && !c.id.includes(options.filter)) continue;
    const tol = c.tolerance;
    maxTol = Math.max(maxTol, tol);
    const result = await runCase(c.id, tol, async () => {
      const metric = getMetric(c.metric);
      const [x, y, a, s] = await Promise.all([load(c.x), load(c.y), load(c.a), c.s ? load(c.s) : Promise.resolve(undefined)]);
      let score: ScoreFn | undefined;
      if (c.model) {
        const mp = resolve(base, c.model);
        let sp = scorers.get(mp);
        if (!sp) scorers.set(mp, (sp = onnxScoreFn(mp)));
        score = await sp;
      }
      const r = await metric.evaluate(
        { x: toFloat32(x), shape: x.shape, y: toInt32(y, c.y), a: toFloat32(a), s: s ? toFloat32(s) : undefined },
        { score, seed: c.seed ?? 0 },
        c.params ?? {},
      );
      let rel = 0;
      c.expected.forEach((e, i) => {
        if (Array.isArray(e)) {
          const curve = r.curves?.[i];
          if (!curve) throw new XsysError(`metric '${c.metric}' returned no curve for sample ${i}`);
          rel = Math.max(rel, relativeError(curve, e));
        } else {
          rel = Math.max(rel, relativeError([r.scores[i]!], [e]));
        }
      });
      if (c.expected.length !== r.scores.length) throw new XsysError(`${r.scores.length} scores for ${c.expected.length} expected samples`);
      return rel;
    });
    results.push(result);
    options.onCase?.(result);
  }
  const passed = results.filter((r) => r.pass).length;
  return { manifest: manifestPath, tolerance: maxTol, cases: results, passed, failed: results.length - passed };
}
