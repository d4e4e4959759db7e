/** Client of the Lens routes (SemanticLens, PURE, steering): /api/lens/*, and the lens-embed job. */
import { api, json, post, type Job } from './api';

export interface Foundation {
  name: string;
  dim: number;
  hasText: boolean;
  vocabulary: string[];
  neutralPrompts: string[];
}
export interface LensIndexSummary {
  id: string;
  referenceSet: string;
  modelId: string;
  dataset: string;
  foundation: string;
  spec: { layers: string[]; samples: number; stat: string; threshold: number };
  components: number;
  skipped: number;
  meanClarity: number;
}
export interface Hit {
  layer: string;
  channel: number;
  rank: number;
  cosine: number;
  calibrated: number;
  clarity: number;
  label?: string | null;
  polysemantic?: boolean;
  strip: string;
}
export interface ComponentDetail {
  layer: string;
  channel: number;
  clarity: number;
  polysemanticity: { spread: number; silhouette: number; centroidCosine: number; clusters: number };
  samples: { index: number; value: number; target: number; box: number[] }[];
  nearest: { layer: string; channel: number; cosine: number } | null;
  strip: string;
}
export interface PureSplit {
  k: number;
  silhouette: number;
  clarity: number;
  splitClarity: number;
  clearer: boolean;
  clusters: { cluster: number; size: number; clarity: number; circuit: { channel: number; share: number }[] }[];
  strips: string[];
}
export interface AuditReport {
  layer: string;
  cls: number;
  samples: number;
  total: number;
  groups: { concept: string; kind: 'valid' | 'spurious' | 'other' | 'unlabelled'; relevance: number; share: number; components: { channel: number; relevance: number; share: number }[] }[];
  validShare: number;
  spuriousShare: number;
  spurious: { channel: number; concept: string; relevance: number; share: number }[];
  strips: Record<string, string>;
}
export interface SteerSide {
  prediction: number;
  probabilities: number[];
  heatmap: string;
}
export interface SteerResult {
  layer: string;
  channels: number[];
  factor: number;
  before: SteerSide;
  after: SteerSide;
  modelId?: string;
}

const enc = encodeURIComponent;

export const lensApi = {
  foundations: () => json<Foundation[]>('/api/lens/foundations'),
  indexes: (modelId: string) => json<LensIndexSummary[]>(`/api/lens/indexes?modelId=${enc(modelId)}`),
  embed: (body: { referenceSet: string; foundation: string }): Promise<Job> => api.startJob({ kind: 'lens-embed', ...body }),
  search: (id: string, body: { text?: string; image?: { dataset: string; index: number }; top?: number; vocabulary?: string[]; threshold?: number }) => post<{ query: string; results: Hit[] }>(`/api/lens/indexes/${enc(id)}/search`, body),
  component: (id: string, layer: string, channel: number) => json<ComponentDetail>(`/api/lens/indexes/${enc(id)}/component?layer=${enc(layer)}&channel=${channel}`),
  pure: (id: string, body: { layer: string; channel: number; lower: string; k?: number }) => post<PureSplit>(`/api/lens/indexes/${enc(id)}/pure`, body),
  audit: (id: string, body: { layer: string; cls: number; should: string[]; shouldNot: string[]; threshold?: number }) => post<AuditReport>(`/api/lens/indexes/${enc(id)}/audit`, body),
  steer: (id: string, body: { layer: string; channels: number[]; factor: number; dataset: string; index: number; save?: boolean }) => post<SteerResult>(`/api/lens/indexes/${enc(id)}/steer`, body),
};
