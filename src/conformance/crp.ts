/**
 * Conformance of CRP conditional heatmaps with zennit-crp (the format of ../shared/crp-conformance/manifest.json):
 * each case names a model, an input, a target, ordered conditions (tensor → channels, highest layer first), the
 * expected input heatmap (summed over the channel axis) and the expected per-channel relevance at each conditioned
 * tensor. A case's relative error is the worst over all compared arrays.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FileFormatError, XsysError } from '../errors.js';
import { toFloat32 } from '../io/npy.js';
import { readNpy } from '../io/npy-file.js';
import { CrpExplainer, type Condition } from '../concepts/crp.js';
import { referenceComposite, relativeError, runCase, type ConformanceCaseResult, type ConformanceReport } from './run.js';

export interface CrpConformanceCase {
  id: string;
  model: string;
  input: string;
  method: 'crp';
  composite?: string;
  params?: Record<string, number>;
  target: number;
  seed?: 'logit';
  /** tensor → channels, in order from the highest layer to the lowest (JSON object order). */
  conditions: Record<string, number[]>;
  exclude_parallel?: boolean;
  expected_heatmap: string;
  expected_channel_relevance?: Record<string, string>;
}

/** Whether parsed JSON is a CRP manifest: every case has method 'crp' and conditions. */
export function isCrpManifestJson(json: unknown): boolean {
  const cases = (json as { cases?: unknown })?.cases;
  return Array.isArray(cases) && cases.length > 0 && cases.every((c) => (c as CrpConformanceCase).method === 'crp' && typeof (c as CrpConformanceCase).conditions === 'object');
}

/** Sums a [1, C, …] tensor over its channel axis: [1, …]. */
export function sumChannels(data: Float32Array, dims: readonly number[]): Float32Array {
  const c = dims[1] ?? 1;
  const per = data.length / c;
  const out = new Float32Array(per);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < per; i++) out[i]! += data[ch * per + i]!;
  return out;
}

export async function runCrpConformance(manifestPath: string, options: { filter?: string; onCase?: (r: ConformanceCaseResult) => void } = {}): Promise<ConformanceReport> {
  let manifest: { reference?: unknown; tolerance?: { relative_linf?: number }; cases?: CrpConformanceCase[] };
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (e) {
    throw new FileFormatError(manifestPath, `cannot read manifest (${(e as Error).message})`);
  }
  if (!isCrpManifestJson(manifest)) throw new FileFormatError(manifestPath, "not a CRP manifest: every case needs method 'crp' and conditions");
  const tol = manifest.tolerance?.relative_linf ?? 5e-4;
  const base = dirname(resolve(manifestPath));
  const explainers = new Map<string, Promise<CrpExplainer>>();
  const results: ConformanceCaseResult[] = [];
  for (const c of manifest.cases!) {
    if (options.filter && !c.id.includes(options.filter)) continue;
    const result = await runCase(c.id, tol, async () => {
      if (c.exclude_parallel === false) throw new XsysError(`case '${c.id}': only exclude_parallel=true is implemented`);
      if (c.seed !== undefined && c.seed !== 'logit') throw new XsysError(`case '${c.id}': seed '${c.seed}' is not supported (only 'logit')`);
      const modelPath = resolve(base, c.model);
      let ex = explainers.get(modelPath);
      if (!ex) {
        ex = CrpExplainer.load(modelPath);
        // Awaited only after the input is read: until then a missing or non-ONNX model must not count as an
        // unhandled rejection (which ended the process with a stack trace instead of failing the case).
        ex.catch(() => undefined);
        explainers.set(modelPath, ex);
      }
      const x = await readNpy(resolve(base, c.input));
      const condition: Condition = Object.entries(c.conditions).map(([tensor, channels]) => ({ tensor, channels }));
      const r = await (await ex).explain({ data: toFloat32(x), dims: x.shape }, [condition], { target: c.target, composite: referenceComposite(manifest.reference, c.composite), params: c.params });
      const item = r.items[0]!;
      const expected = await readNpy(resolve(base, c.expected_heatmap));
      let worst = relativeError(sumChannels(item.heatmap.data, item.heatmap.dims), expected.data as Float64Array, 'heatmap');
      for (const [tensor, file] of Object.entries(c.expected_channel_relevance ?? {})) {
        const got = item.channelRelevance[tensor];
        if (!got) throw new XsysError(`case '${c.id}': expected_channel_relevance names '${tensor}', which is not conditioned`);
        worst = Math.max(worst, relativeError(got, (await readNpy(resolve(base, file))).data as Float64Array, `channel relevance at ${tensor}`));
      }
      return worst;
    });
    results.push(result);
    options.onCase?.(result);
  }
  const passed = results.filter((r) => r.pass).length;
  return { manifest: manifestPath, tolerance: tol, cases: results, passed, failed: results.length - passed };
}
