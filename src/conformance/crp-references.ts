/**
 * Conformance of reference samples with zennit-crp's FeatureVisualization (../shared/crp-conformance/reference-samples):
 * per case a model, a dataset .npy, a tensor, a mode (relevance: RelMax; activation: ActMax with max_target 'sum'),
 * and the expected top indices and values per channel. Values must agree within tolerance × the channel's best
 * |value|; indices must agree except where the expected values tie within that tolerance. relativeError is the
 * worst value difference relative to the channel's best (Infinity when an index differs outside a tie).
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FileFormatError, XsysError } from '../errors.js';
import { toFloat32 } from '../io/npy.js';
import { readNpy } from '../io/npy-file.js';
import { readModel } from '../onnx/file.js';
import { collectRange, StatisticsEngine, type ReferenceSpec } from '../concepts/references.js';
import { arraySource } from '../concepts/sources.js';
import type { TopK } from '../concepts/topk.js';
import { referenceComposite, runCase, type ConformanceCaseResult, type ConformanceReport } from './run.js';

export interface CrpReferenceCase {
  id: string;
  model: string;
  data: string;
  composite?: string;
  targets: 'prediction' | 'label';
  mode: 'relevance' | 'activation';
  tensor: string;
  max_target?: 'sum' | 'max';
  abs_norm?: boolean;
  top: number;
  expected_indices: string;
  expected_values: string;
}

export function isCrpReferencesManifestJson(json: unknown): boolean {
  const cases = (json as { cases?: unknown })?.cases;
  return Array.isArray(cases) && cases.length > 0 && cases.every((c) => typeof (c as CrpReferenceCase).mode === 'string' && typeof (c as CrpReferenceCase).expected_indices === 'string');
}

/** Compares one top-k table [top, C] with a computed TopK; returns the worst relative value error. */
export function compareTopK(got: TopK, indices: ArrayLike<number | bigint>, values: ArrayLike<number | bigint>, top: number, tol: number): number {
  const C = got.channels;
  let worst = 0;
  for (let c = 0; c < C; c++) {
    const list = got.list(c);
    if (list.length < top) throw new XsysError(`channel ${c}: ${list.length} reference samples, expected ${top}`);
    const best = Math.max(...Array.from({ length: top }, (_, r) => Math.abs(Number(values[r * C + c]))));
    const scale = best > 0 ? best : 1;
    for (let r = 0; r < top; r++) {
      const ev = Number(values[r * C + c]);
      const ei = Number(indices[r * C + c]);
      const [gv, gi] = list[r]!;
      worst = Math.max(worst, Math.abs(gv - ev) / scale);
      if (gi !== ei) {
        // A different sample at this rank is fine only inside a tie: its value matches, and the expected value is
        // tied (within tolerance) with a neighbour — the order among tied samples is arbitrary.
        const near = (q: number) => q >= 0 && q < top && Math.abs(Number(values[q * C + c]) - ev) <= tol * scale;
        const tiedInGot = list.some(([v, i], q) => q !== r && i !== gi && Math.abs(v - gv) <= tol * scale);
        if (Math.abs(gv - ev) > tol * scale || !(near(r - 1) || near(r + 1) || tiedInGot)) return Infinity;
      }
    }
  }
  return worst;
}

export async function runCrpReferencesConformance(manifestPath: string, options: { filter?: string; onCase?: (r: ConformanceCaseResult) => void } = {}): Promise<ConformanceReport> {
  let manifest: { reference?: unknown; tolerance?: { relative_linf?: number }; cases?: CrpReferenceCase[] };
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (e) {
    throw new FileFormatError(manifestPath, `cannot read manifest (${(e as Error).message})`);
  }
  if (!isCrpReferencesManifestJson(manifest)) throw new FileFormatError(manifestPath, 'not a reference-samples manifest: cases need mode and expected_indices');
  const tol = manifest.tolerance?.relative_linf ?? 5e-4;
  const base = dirname(resolve(manifestPath));
  const results: ConformanceCaseResult[] = [];
  for (const c of manifest.cases!) {
    if (options.filter && !c.id.includes(options.filter)) continue;
    const result = await runCase(c.id, tol, async () => {
      if (c.mode === 'activation' && (c.max_target ?? 'sum') !== 'sum') throw new XsysError(`case '${c.id}': only max_target 'sum' is compared`);
      const model = await readModel(resolve(base, c.model));
      const data = await readNpy(resolve(base, c.data));
      const spec: ReferenceSpec = { layers: [c.tensor], k: c.top, composite: referenceComposite(manifest.reference, c.composite), targets: c.targets, absNorm: c.abs_norm ?? true };
      const engine = await StatisticsEngine.create(model, spec);
      const source = arraySource(toFloat32(data), data.shape);
      const state = await collectRange(engine, source, spec, 0, source.size);
      const L = state.layers[c.tensor]!;
      const got = c.mode === 'relevance' ? L.relSum : L.actSum;
      const idx = await readNpy(resolve(base, c.expected_indices));
      const val = await readNpy(resolve(base, c.expected_values));
      if (idx.shape[1] !== L.channels) throw new XsysError(`expected ${idx.shape[1]} channels, '${c.tensor}' has ${L.channels}`);
      return compareTopK(got, idx.data as ArrayLike<number | bigint>, val.data as ArrayLike<number | bigint>, c.top, tol);
    });
    results.push(result);
    options.onCase?.(result);
  }
  const passed = results.filter((r) => r.pass).length;
  return { manifest: manifestPath, tolerance: tol, cases: results, passed, failed: results.length - passed };
}
