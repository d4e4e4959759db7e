/** Client of the Concepts (CRP) and strategy-analysis routes: /api/concepts/*, and the spray / pcx / concept-references jobs. */
import { api, json, post, type Job } from './api';

export interface ChannelLayer {
  tensor: string;
  opType: string;
  shape: (number | string)[];
  channels: number;
}
export interface ChannelShare {
  channel: number;
  relevance: number;
  share: number;
}
export interface ConceptSummary extends ChannelShare {
  /** The concept's conditional heatmap on the input (PNG data URL). */
  heatmap: string;
  subConcepts?: ChannelShare[];
}
export interface ConceptExplanation {
  target: number;
  layer: string;
  lower?: string;
  total: number;
  channels: number;
  concepts: ConceptSummary[];
}
export interface ReferenceSet {
  id: string;
  modelId: string;
  dataset: string;
  spec: { layers: string[]; k: number; composite: string; targets: string };
  processed: number;
  total: number;
  complete: boolean;
}
export interface ReferenceSample {
  index: number;
  value: number;
  target: number;
  box: [number, number, number, number];
  /** The sample cropped to where the concept's conditional relevance is high (PNG data URL). */
  crop: string;
  heatmap: string;
}
export interface Atlas {
  layer: string;
  cls: number;
  samples: number;
  concepts: { channel: number; meanRelevance: number; references: { index: number; value: number }[] }[];
  comparison?: { shared: number[]; onlyA: number[]; onlyB: number[]; differences: { channel: number; a: number; b: number; difference: number }[] };
}

export interface SprayResult {
  class: number;
  method: string;
  h: number;
  w: number;
  suggestedClusters: number;
  eigenvalues: number[];
  eigengaps: number[];
  clusters: { label: number; size: number; members: number[]; meanHeatmap: number[] }[];
  points: { index: number; cluster: number; x: number; y: number }[];
}
export interface PcxResult {
  layer: string;
  concepts: number;
  used: number;
  samples: number;
  classes: {
    class: number;
    threshold: number;
    prototypes: { index: number; weight: number; size: number; mean: number[]; topConcepts: { concept: number; relevance: number }[]; closest: number[] }[];
    outliers: { index: number; prototype: number; logLikelihood: number; overUsed: { concept: number; by: number }[]; underUsed: { concept: number; by: number }[] }[];
  }[];
}

const enc = encodeURIComponent;

export const conceptsApi = {
  layers: (modelId: string) => json<ChannelLayer[]>(`/api/models/${enc(modelId)}/concepts/layers`),
  explain: (req: { modelId: string; dataset: string; index: number; layer: string; lower?: string; target?: number | 'pred'; top?: number }) => post<ConceptExplanation>('/api/concepts/explain', req),
  referenceSets: (modelId: string) => json<ReferenceSet[]>(`/api/concepts/references?modelId=${enc(modelId)}`),
  samples: (set: string, q: { layer: string; channel: number; n?: number; cls?: number }) =>
    json<ReferenceSample[]>(`/api/concepts/references/${enc(set)}/samples?layer=${enc(q.layer)}&channel=${q.channel}&n=${q.n ?? 4}${q.cls !== undefined ? `&cls=${q.cls}` : ''}`),
  atlas: (set: string, q: { layer: string; cls: number; compare?: number; top?: number }) =>
    json<Atlas>(`/api/concepts/references/${enc(set)}/atlas?layer=${enc(q.layer)}&cls=${q.cls}&top=${q.top ?? 6}&refs=0${q.compare !== undefined ? `&compare=${q.compare}` : ''}`),
  buildReferences: (body: { modelId: string; dataset: string; layers: string[]; k?: number }) => api.startJob({ kind: 'concept-references', ...body }),
};

/** Polls a job until it leaves queued/running, reporting progress; resolves with the final job. */
export async function followJob(id: string, onUpdate: (j: Job) => void, signal?: AbortSignal): Promise<Job> {
  for (;;) {
    const j = await api.job(id);
    onUpdate(j);
    if (j.state !== 'queued' && j.state !== 'running') return j;
    if (signal?.aborted) return j;
    await new Promise((r) => setTimeout(r, 500));
  }
}
