/**
 * Benchmark plumbing: fixed ORT session options, a timing loop, and a way to run one measurement in its own child
 * Node process (so that the peak RSS it reports belongs to that configuration alone).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { ortOptions } from '../src/runtime/session.js';
import { BENCH_MODEL_NAMES, type BenchModelName } from './models.js';

export const CONFIGS = ['forward', 'lrp', 'gradient'] as const;
export type BenchConfig = (typeof CONFIGS)[number];

/** One cell of the benchmark: `model:batch:config`, e.g. `vgg16:1:lrp`. */
export interface BenchSpec {
  model: BenchModelName;
  batch: number;
  config: BenchConfig;
}

/** Parses `--only vgg16:1:lrp,resnet50:8:gradient`; each model/batch pair also gets its forward baseline. */
export function parseSpecs(value: string): BenchSpec[] {
  const specs: BenchSpec[] = [];
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [model, batch, config, extra] = item.split(':');
    if (extra !== undefined || !model || !batch || !config) throw new Error(`--only: '${item}' is not model:batch:config`);
    if (!(BENCH_MODEL_NAMES as readonly string[]).includes(model)) throw new Error(`--only: unknown model '${model}' (${BENCH_MODEL_NAMES.join(', ')})`);
    const b = Number(batch);
    if (!Number.isInteger(b) || b < 1) throw new Error(`--only: bad batch '${batch}' in '${item}'`);
    if (!CONFIGS.includes(config as BenchConfig)) throw new Error(`--only: unknown config '${config}' (${CONFIGS.join(', ')})`);
    specs.push({ model: model as BenchModelName, batch: b, config: config as BenchConfig });
  }
  const out: BenchSpec[] = [];
  for (const s of specs) {
    if (!out.some((o) => o.model === s.model && o.batch === s.batch && o.config === 'forward')) out.push({ model: s.model, batch: s.batch, config: 'forward' });
    if (!out.some((o) => o.model === s.model && o.batch === s.batch && o.config === s.config)) out.push(s);
  }
  return out;
}

/**
 * ORT's intra-op threads spin for a while after each run. With two sessions in one process (the interleaved
 * pairs) the idle session's spinning threads steal the 2 cores from the running one, and the short forward run
 * suffers most: ResNet50 b1 forward took 49 ms interleaved with explainers against 25 ms alone, which made the
 * ratios look a third better than they are. Every benchmark session therefore runs without spinning.
 */
const NO_SPIN = { 'intra_op.allow_spinning': '0' } as const;

/** Intra-op threads of every benchmark session: BENCH_THREADS, default 2 (this machine's cores). */
export const BENCH_THREADS = ((): number => {
  const v = process.env.BENCH_THREADS;
  if (v === undefined || v === '') return 2;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_THREADS must be a positive integer (got '${v}')`);
  return n;
})();
/** Session options of the forward baseline: the library's own (src/runtime/session.ts), BENCH_THREADS intra-op threads. */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = Object.freeze({ ...ortOptions({ threads: BENCH_THREADS }), extra: { session: { ...NO_SPIN } } });
/** Session options of the explainers: what the library uses for compiled graphs, BENCH_THREADS intra-op threads. */
// BENCH_PREPACK=1 (experiments only): turn ORT's weight prepacking back on for the explainers.
const LIBRARY_EXPLAINER_OPTIONS = ortOptions({ threads: BENCH_THREADS, compiledGraph: true });
export const EXPLAINER_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = Object.freeze({
  ...LIBRARY_EXPLAINER_OPTIONS,
  extra: {
    session: {
      ...(LIBRARY_EXPLAINER_OPTIONS.extra as { session?: Record<string, string> } | undefined)?.session,
      ...NO_SPIN,
      ...(process.env.BENCH_PREPACK === '1' ? { disable_prepacking: '0' } : {}),
    },
  },
});

/** Creates an ORT session from serialized model bytes with the options of its kind, and reports how long it took. */
export async function createSession(bytes: Uint8Array, kind: 'forward' | 'explainer' = 'forward'): Promise<{ session: ort.InferenceSession; ms: number }> {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(bytes, { ...(kind === 'forward' ? SESSION_OPTIONS : EXPLAINER_SESSION_OPTIONS) });
  return { session, ms: performance.now() - t0 };
}

export interface TimingStats {
  medianMs: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
  /** Every timed run, in order. */
  runsMs: number[];
  warmup: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Times `a` and `b` alternately (a, b, b, a, a, b …, so neither always runs first) after one warm-up each. */
export async function timePaired(a: () => Promise<unknown>, b: () => Promise<unknown>, pairs: number): Promise<{ a: number[]; b: number[] }> {
  await a();
  await b();
  const ta: number[] = [];
  const tb: number[] = [];
  const time = async (fn: () => Promise<unknown>, into: number[]): Promise<void> => {
    const t0 = performance.now();
    await fn();
    into.push(performance.now() - t0);
  };
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) {
      await time(a, ta);
      await time(b, tb);
    } else {
      await time(b, tb);
      await time(a, ta);
    }
  }
  return { a: ta, b: tb };
}

/** Runs `fn` `warmup` times untimed, then `runs` times timed (wall clock, `performance.now()`). */
export async function timeRuns(fn: () => Promise<unknown>, runs: number, warmup: number): Promise<TimingStats> {
  if (!(runs >= 1)) throw new Error(`timeRuns: need at least one timed run (got ${runs})`);
  for (let i = 0; i < warmup; i++) await fn();
  const runsMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    runsMs.push(performance.now() - t0);
  }
  return {
    medianMs: median(runsMs),
    minMs: Math.min(...runsMs),
    maxMs: Math.max(...runsMs),
    meanMs: runsMs.reduce((a, b) => a + b, 0) / runsMs.length,
    runsMs,
    warmup,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Explainer contract (src/index.ts). Declared here rather than imported so that bench/ type-checks whatever state
// src/ is in; the worker loads the module at run time and checks that the export exists.
// ---------------------------------------------------------------------------------------------------------------

export type ExplainMethod = 'lrp' | 'gradient';

export interface CompiledExplainer {
  /**
   * Serialized compiled ONNX graph — as agreed in the brief a Uint8Array; src/compiler/compile.ts (as committed)
   * makes it a method that serializes on demand. Both are accepted; the worker times the call separately.
   */
  bytes: Uint8Array | (() => Uint8Array);
  /** The model's own inputs (the image goes here). */
  inputNames: string[];
  /** Extra input: float32 [batch, numClasses], one-hot of the target class. */
  seedName: string;
  /** Graph outputs; [logits, attribution] when scoresName/attributionNames are absent. */
  outputNames: string[];
  /** The explained scores (logits) output, if the compiler names it. */
  scoresName?: string;
  /** Attribution output per model input, if the compiler names them. */
  attributionNames?: Record<string, string>;
  /** Time spent compiling (no serialization when `bytes` is a method, no ORT session creation). */
  compileMs: number;
}

export type CompileExplainer = (
  model: Uint8Array,
  options: { method: ExplainMethod; composite?: string },
) => CompiledExplainer | Promise<CompiledExplainer>;

// ---------------------------------------------------------------------------------------------------------------
// Child-process measurements
// ---------------------------------------------------------------------------------------------------------------

export type WorkerMode = 'forward' | 'explainer';

export interface WorkerArgs {
  model: BenchModelName;
  /** Path of the serialized model (written by the parent so the worker does not pay for building it). */
  modelPath: string;
  mode: WorkerMode;
  /** The model's image input and its shape without the batch axis. */
  inputName: string;
  imageShape: number[];
  /** Explainer mode only. */
  method?: ExplainMethod;
  /** Explainer mode only (LRP composite name). */
  composite?: string;
  batch: number;
  runs: number;
  warmup: number;
  numClasses: number;
  /**
   * Explainer mode: after its own (RSS-measured) runs, the worker also loads the plain forward model and times
   * forward and explainer runs interleaved, `pairedRuns` pairs (0: skip). The time ratio is taken from these pairs,
   * so that load from other processes on a shared machine hits both sides alike.
   */
  pairedRuns?: number;
}

/** Interleaved forward/explainer timing within one worker (see WorkerArgs.pairedRuns). */
export interface PairedTiming {
  forwardMs: number[];
  explainerMs: number[];
  /** median(explainer) / median(forward). */
  ratioOfMedians: number;
  /** median over pairs of explainer_i / forward_i. */
  medianOfRatios: number;
}

/**
 * Peak RSS in MiB, sampled at the end of each phase (monotonic). Linux: VmHWM of the worker's own address space;
 * elsewhere `process.resourceUsage().maxRSS` (see `peakRssSource`).
 */
export interface RssPhases {
  /** After node + onnxruntime-node (+ the compiler module in explainer mode) are loaded. */
  afterImport: number;
  /** After the model bytes are read. */
  afterLoad: number;
  /** After compiling (explainer mode; equals afterLoad in forward mode). */
  afterCompile: number;
  /** After the ORT session is created. */
  afterSession: number;
  /** After all runs — the configuration's peak RSS. */
  afterRuns: number;
}

export interface WorkerSuccess {
  ok: true;
  args: WorkerArgs;
  /** compileMs as reported by compileExplainer (explainer mode). */
  compileMs?: number;
  /** Wall-clock time around the compileExplainer call (explainer mode). */
  compileWallMs?: number;
  /** Wall-clock time of `bytes()` when the compiler serializes on demand (0 when `bytes` is already bytes). */
  serializeMs?: number;
  /** CPU time (user + system) of compiling + serializing, ms: a load-independent view of the compile cost. */
  compileCpuMs?: number;
  /** ORT session creation time. */
  sessionMs: number;
  timing: TimingStats;
  /** Explainer mode with pairedRuns > 0. */
  paired?: PairedTiming;
  /** = rss.afterRuns, MiB. */
  peakRssMB: number;
  rss: RssPhases;
  /** Current (not peak) RSS after the timed runs, MiB. */
  rssEndMB: number;
  /** Where peak RSS comes from: VmHWM (Linux) or resourceUsage().maxRSS. */
  peakRssSource: 'VmHWM' | 'maxRSS';
  /**
   * Raw `process.resourceUsage().maxRSS`, MiB, for reference. On Linux it includes the *parent's* RSS at spawn
   * time (ru_maxrss survives fork+exec), which is why it is not the reported peak.
   */
  maxRssMB: number;
  checks: {
    logitsDims: number[];
    logitsFinite: boolean;
    attributionDims?: number[];
    attributionFinite?: boolean;
    attributionNonZero?: number;
    /** Σ attribution / logit[target] for sample 0 (≈1 for conservative LRP rules; informational). */
    conservation?: number;
  };
  ortVersion: string;
  nodeVersion: string;
}

export interface WorkerFailure {
  ok: false;
  args: WorkerArgs;
  error: string;
  stderrTail?: string;
  exitCode?: number | null;
  signal?: string | null;
}

export type WorkerResult = WorkerSuccess | WorkerFailure;

/** Prefix of the one stdout line carrying the worker's JSON result. */
export const RESULT_MARKER = '@@xsys-bench-result@@ ';

/** Node flags for the worker: big heap, explicit GC (the worker frees the model bytes once the session exists). */
const WORKER_NODE_FLAGS = ['--max-old-space-size=8192', '--expose-gc'];

/**
 * Runs one measurement in a fresh child Node process (`bench/worker.ts`, or `dist/bench/worker.js` when compiled)
 * and returns its parsed result. Never throws for a failed measurement: failures come back as `ok: false`.
 */
export function runInChild(args: WorkerArgs, opts: { timeoutMs?: number } = {}): Promise<WorkerResult> {
  const { timeoutMs = 15 * 60_000 } = opts;
  const isTs = import.meta.url.endsWith('.ts');
  const workerPath = fileURLToPath(new URL(isTs ? './worker.ts' : './worker.js', import.meta.url));
  const flags = [...WORKER_NODE_FLAGS];
  if (isTs) flags.push('--import', import.meta.resolve('tsx'));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...flags, workerPath, JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, args, error: `could not start worker: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout
        .split('\n')
        .reverse()
        .find((l) => l.startsWith(RESULT_MARKER));
      const stderrTail = stderr.trim().split('\n').slice(-20).join('\n') || undefined;
      if (line !== undefined) {
        try {
          resolve(JSON.parse(line.slice(RESULT_MARKER.length)) as WorkerResult);
          return;
        } catch (e) {
          resolve({ ok: false, args, error: `unparsable worker result: ${(e as Error).message}`, stderrTail });
          return;
        }
      }
      const why = timedOut
        ? `timed out after ${Math.round(timeoutMs / 1000)} s`
        : signal
          ? `killed by ${signal}${signal === 'SIGKILL' ? ' (out of memory?)' : ''}`
          : `exited with code ${code} without a result`;
      resolve({ ok: false, args, error: why, stderrTail, exitCode: code, signal });
    });
  });
}
