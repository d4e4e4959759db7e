/** Runs one explanation where the user chose: on the service, or on this device. */
import { parseNpy, toFloat32 } from '../../../src/browser/index.js';
import type { Device } from '../app/route';
import { api, type Dataset, type ExplainRequest, type ExplainResult, type ModelSummary, type ResultRecord } from './api';
import { explainLocally } from './device';
import type { Explained } from './explained';
import { deviceInput, serverInput, type InputChoice } from './inputs';

export interface ExplainSpec {
  device: Device;
  model: ModelSummary;
  datasets: Dataset[];
  input: InputChoice;
  method: string;
  composite?: string;
  /** Parameters the user set (the service fills in the rest); ignored on the device, which runs the defaults. */
  params?: Record<string, number | string>;
  /** Input preparation for uploaded images ('invert', 'crop'). */
  prep?: string;
  target: number | 'pred';
}

export function parseTarget(t: string): number | 'pred' {
  return /^\d+$/.test(t) ? Number(t) : 'pred';
}

/** A stored result as the views show it (the attribution comes from its .npy artefact). */
export async function fromRecord(r: ResultRecord | ExplainResult): Promise<Explained> {
  const arr = parseNpy(await api.artefact(r.artefacts.attribution), 'attribution.npy');
  return {
    where: 'server',
    backend: `onnxruntime ${r.provenance?.ortVersion ?? ''}`.trim(),
    method: r.method,
    composite: r.composite,
    target: r.target,
    attribution: { data: toFloat32(arr), dims: arr.shape },
    topk: r.topk ?? [],
    relevanceSum: r.relevanceSum,
    timingMs: { compile: r.provenance?.timingMs?.compile, run: r.provenance?.timingMs?.run, total: r.provenance?.timingMs?.total ?? 0 },
    params: r.provenance?.params ?? r.params,
    count: r.count,
    resultId: r.id,
    record: r,
    inputSha: r.artefacts.input,
  };
}

export async function explainOne(s: ExplainSpec): Promise<Explained> {
  // The methods that take a composite (their declaration's `composite`, GET /api/methods): lrp and crp.
  const composite = s.method === 'lrp' || s.method === 'crp' ? s.composite : undefined;
  if (s.device === 'local') {
    const tensor = await deviceInput(s.input, s.model, s.datasets, s.prep);
    return explainLocally(s.model.id, tensor, { method: s.method, composite, target: s.target });
  }
  const { input, preprocess } = await serverInput(s.input, s.model, s.datasets, s.prep);
  const params = s.params && Object.keys(s.params).length ? s.params : undefined;
  const r = await api.explain({ modelId: s.model.id, input, ...(preprocess ? { preprocess } : {}), // Method and composite come from the URL as text; the service validates them against its declarations.
    method: s.method as ExplainRequest['method'], ...(composite ? { composite: composite as ExplainRequest['composite'] } : {}), ...(params ? { params } : {}), target: s.target });
  return fromRecord(r);
}
