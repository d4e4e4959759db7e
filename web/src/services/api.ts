/** Typed client of the workbench HTTP API (docs/workbench-api.md). */

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: (number | string)[];
}
export interface ModelSummary {
  id: string;
  name: string;
  bytes: number;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  opset: number;
  /** How the service prepares images for this model (size, greyscale, mean/std), when known. */
  preprocess?: Preprocess;
  createdAt: string;
}
export interface ModelDetail extends ModelSummary {
  opHistogram: Record<string, number>;
  nodes: { name: string; opType: string; rule?: string }[];
  unsupported: { node: string; opType: string; hint: string }[];
}
export interface Preprocess {
  size?: [number, number];
  grayscale?: boolean;
  mean?: number[];
  std?: number[];
}
export interface Dataset {
  name: string;
  count: number;
  shape: number[];
  preprocess: Preprocess;
  /** The true class of each sample, where the dataset has labels. */
  labels?: number[];
}
export type InputSpec = { kind: 'image'; png: string } | { kind: 'npy'; npy: string } | { kind: 'sample'; dataset: string; index: number };
export type Params = Record<string, number | string>;
export interface ExplainRequest {
  modelId: string;
  input: InputSpec;
  preprocess?: Preprocess;
  method: string;
  composite?: string;
  params?: Params;
  target?: number | 'pred';
}
export interface Provenance {
  modelSha256: string;
  inputSha256: string;
  method: string;
  composite?: string | null;
  params?: Params;
  xsysVersion: string;
  ortVersion: string;
  timingMs: { compile: number; run: number; total: number };
  [key: string]: unknown;
}
export interface ResultRecord {
  id: string;
  modelId: string;
  inputId: string;
  method: string;
  composite?: string | null;
  params?: Params;
  target: number;
  relevanceSum: number;
  createdAt: string;
  /** display: a PNG of the input as the user gave it, where the service keeps one. */
  artefacts: { heatmap: string; attribution: string; input: string; display?: string };
  topk?: TopK[];
  provenance: Provenance;
  /** Metric scores, where the service computed them (e.g. by an evaluation job). */
  metrics?: Record<string, number>;
}
export interface TopK {
  class: number;
  score: number;
  prob: number;
}
export interface ExplainResult extends ResultRecord {
  topk: TopK[];
}
export interface Reproduction {
  resultId: string;
  reproducedId: string;
  maxAbsDiff: number;
  maxRelDiff: number;
  identical: boolean;
}
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export interface Job {
  id: string;
  kind: string;
  state: JobState;
  progress: { done: number; total: number };
  error?: string | { title?: string; detail?: string };
  resultIds?: string[];
  params?: Record<string, unknown>;
  result?: unknown;
  createdAt?: string;
  [key: string]: unknown;
}
export interface Health {
  ok: boolean;
  version: string;
  ortVersion: string;
}

/** An API error with the problem+json fields the service sends. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly hint?: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

async function request(path: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'The xsys service cannot be reached', (e as Error).message, 'is `xsys serve` running?');
  }
  if (!res.ok) {
    let title = `${res.status} ${res.statusText}`;
    let detail: string | undefined;
    let hint: string | undefined;
    try {
      const p = (await res.json()) as { title?: string; detail?: string; hint?: string };
      title = p.title ?? title;
      detail = p.detail;
      hint = p.hint;
    } catch {
      /* not problem+json: keep the status line */
    }
    throw new ApiError(res.status, title, detail, hint);
  }
  return res;
}

export async function json<T>(path: string, init?: RequestInit): Promise<T> {
  return (await request(path, init)).json() as Promise<T>;
}

export function post<T>(path: string, body: unknown): Promise<T> {
  return json<T>(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

const enc = encodeURIComponent;

export const api = {
  health: () => json<Health>('/api/health'),
  models: () => json<ModelSummary[]>('/api/models'),
  model: (id: string, composite?: string) => json<ModelDetail>(`/api/models/${enc(id)}${composite ? `?composite=${enc(composite)}` : ''}`),
  uploadModel: (name: string, bytes: ArrayBuffer) =>
    json<ModelSummary>(`/api/models?name=${enc(name)}`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes }),
  deleteModel: (id: string) => request(`/api/models/${enc(id)}`, { method: 'DELETE' }),
  modelFile: async (id: string) => new Uint8Array(await (await request(`/api/models/${enc(id)}/file`)).arrayBuffer()),
  datasets: () => json<Dataset[]>('/api/datasets'),
  sampleUrl: (dataset: string, index: number) => `/api/datasets/${enc(dataset)}/samples/${index}`,
  sampleNpy: async (dataset: string, index: number) => new Uint8Array(await (await request(`/api/datasets/${enc(dataset)}/samples/${index}?format=npy`)).arrayBuffer()),
  explain: (req: ExplainRequest) => post<ExplainResult>('/api/explain', req),
  compare: (req: Omit<ExplainRequest, 'method' | 'composite'> & { methods: { method: string; composite?: string; params?: Params }[] }) =>
    post<{ results: ExplainResult[] }>('/api/compare', req),
  results: (query: { modelId?: string; jobId?: string; limit?: number; before?: string } = {}) => {
    const q = Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${enc(String(v))}`).join('&');
    return json<ResultRecord[]>(`/api/results${q ? `?${q}` : ''}`);
  },
  result: (id: string) => json<ResultRecord>(`/api/results/${enc(id)}`),
  reproduce: (id: string) => post<Reproduction>(`/api/results/${enc(id)}/reproduce`, {}),
  artefactUrl: (sha: string) => `/api/artefacts/${enc(sha)}`,
  artefact: async (sha: string) => new Uint8Array(await (await request(`/api/artefacts/${enc(sha)}`)).arrayBuffer()),
  jobs: () => json<Job[]>('/api/jobs'),
  job: (id: string) => json<Job>(`/api/jobs/${enc(id)}`),
  startJob: (body: { kind: string } & Record<string, unknown>) => post<Job>('/api/jobs', body),
  cancelJob: (id: string) => json<Job>(`/api/jobs/${enc(id)}`, { method: 'DELETE' }),
  jobEventsUrl: (id: string) => `/api/jobs/${enc(id)}/events`,
};

/** Base64 of bytes (for InputSpec's png/npy), without building one huge string argument. */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
