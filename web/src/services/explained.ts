/** One explanation as the views show it, whether it was computed by the service or on this device. */
import type { ResultRecord, TopK } from './api';
import type { Tensor } from './tensor';

export interface Explained {
  where: 'server' | 'local';
  /** 'wasm' | 'webgpu' on the device; the service's runtime otherwise. */
  backend: string;
  method: string;
  composite?: string | null;
  target: number;
  attribution: Tensor;
  topk: TopK[];
  relevanceSum: number;
  timingMs: { compile?: number; session?: number; run?: number; total: number };
  /** On the device: this run also downloaded and started the WebAssembly runtime (once per page). */
  coldStart?: boolean;
  /** Server results: every parameter that produced it (defaults filled in by the service). */
  params?: Record<string, number | string>;
  /** Server results: how many times this explanation was asked for. */
  count?: number;
  /** Server results only: the stored record. */
  resultId?: string;
  record?: ResultRecord;
  inputSha?: string;
}

/** The k largest scores with softmax probabilities, largest first. */
export function topK(scores: Float32Array, k: number): TopK[] {
  let max = -Infinity;
  for (const s of scores) max = Math.max(max, s);
  let z = 0;
  for (const s of scores) z += Math.exp(s - max);
  return Array.from(scores, (score, cls) => ({ class: cls, score, prob: Math.exp(score - max) / z }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}
