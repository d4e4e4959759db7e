/**
 * One transformer benchmark measurement in its own process (peak RSS is this process's high-water mark, VmHWM):
 *
 *   node --expose-gc --import tsx bench/transformer-worker.ts '{"model":"bert-base","modelPath":"…","config":"attnlrp","batch":1,…}'
 *
 * Prints one line TRANSFORMER_RESULT + JSON.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { compileExplainer } from '../src/compiler/compile.js';
import { EXPLAINER_SESSION_OPTIONS, SESSION_OPTIONS, timeRuns } from './harness.js';
import { randomIds } from './transformers.js';
import { Rng } from './models.js';

export const TRANSFORMER_RESULT = 'TRANSFORMER_RESULT ';

export interface TransformerWorkerArgs {
  model: 'bert-base' | 'vit-b16';
  modelPath: string;
  config: 'forward' | 'attnlrp' | 'cp-lrp';
  /**
   * 'compile': compile modelPath and write the explainer to outPath (reports the compile's peak RSS);
   * 'run': load modelPath (the plain model, or an explainer written by 'compile') and time its runs.
   */
  phase: 'compile' | 'run';
  outPath?: string;
  batch: number;
  runs: number;
  warmup: number;
  seq: number;
  vocab: number;
  classes: number;
}

const mib = (kib: number): number => Math.round((kib / 1024) * 10) / 10;
function peakRss(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return mib(Number(m[1]));
  } catch {
    // not Linux
  }
  return mib(process.resourceUsage().maxRSS);
}

/** Compiles in its own process, as `xsys compile` does once before an explainer is served. */
function compilePhase(a: TransformerWorkerArgs) {
  const t0 = performance.now();
  const c = compileExplainer(readFileSync(a.modelPath), { method: 'lrp', composite: a.config });
  const compileMs = c.compileMs;
  const t1 = performance.now();
  writeFileSync(a.outPath!, c.bytes());
  return { ok: true, args: a, compileMs, serializeMs: performance.now() - t1, totalMs: performance.now() - t0, peakRssMB: peakRss() };
}

async function measure(a: TransformerWorkerArgs) {
  if (a.phase === 'compile') return compilePhase(a);
  // ORT reads the file itself (both configurations alike), so no JS copy of the weights inflates the peak.
  const t0 = performance.now();
  // BENCH_ARENA=0: without ORT's CPU memory arena (which rounds allocations up), for both configurations alike.
  const arena = process.env.BENCH_ARENA === '0' ? { enableCpuMemArena: false } : {};
  // Explainers get the library's options for compiled graphs (no memory pattern), as ModelExplainer uses them.
  const session = await ort.InferenceSession.create(a.modelPath, { ...(a.config === 'forward' ? SESSION_OPTIONS : EXPLAINER_SESSION_OPTIONS), ...arena });
  const sessionMs = performance.now() - t0;
  const seedName = session.inputNames.find((n) => n === 'xsys_seed');
  const relevanceName = session.outputNames.find((n) => n.startsWith('token_relevance_') || n.startsWith('attribution_'));
  const feeds: Record<string, ort.Tensor> = {};
  const B = a.batch;
  if (a.model === 'bert-base') {
    feeds.input_ids = new ort.Tensor('int64', randomIds(B, a.seq, a.vocab), [B, a.seq]);
    feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(B * a.seq).fill(1n), [B, a.seq]);
    feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(B * a.seq), [B, a.seq]);
  } else {
    const img = new Float32Array(B * 3 * 224 * 224);
    new Rng(5).fillNormal(img, 1);
    feeds.pixel_values = new ort.Tensor('float32', img, [B, 3, 224, 224]);
  }
  if (seedName) {
    const seed = new Float32Array(B * a.classes);
    for (let b = 0; b < B; b++) seed[b * a.classes] = 1;
    feeds[seedName] = new ort.Tensor('float32', seed, [B, a.classes]);
  }
  let last: ort.InferenceSession.OnnxValueMapType | undefined;
  const timing = await timeRuns(async () => {
    last = await session.run(feeds);
  }, a.runs, a.warmup);
  let finite = true;
  if (relevanceName) for (const v of last![relevanceName]!.data as Float32Array) if (!Number.isFinite(v)) finite = false;
  await session.release();
  return { ok: true, args: a, sessionMs, timing, peakRssMB: peakRss(), relevanceFinite: finite };
}

const raw = process.argv[2];
if (raw && process.argv[1]?.endsWith('transformer-worker.ts')) {
  const args = JSON.parse(raw) as TransformerWorkerArgs;
  let result: unknown;
  try {
    result = await measure(args);
  } catch (e) {
    result = { ok: false, args, error: (e as Error).stack ?? String(e) };
  }
  process.stdout.write(`${TRANSFORMER_RESULT}${JSON.stringify(result)}\n`);
}
