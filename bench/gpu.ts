/**
 * `npm run bench:gpu`: the GPU path of issue 13, prepared on CPU so that one short run on a GPU machine answers it.
 *
 * For each model and batch it compiles the LRP (epsilon-plus-flat) explainer once — with MaxPool routed by comparison,
 * since ONNX Runtime's WebGPU provider has no MaxPool `Indices` output — and runs the forward model and the explainer
 * on every requested execution provider:
 *   - images/s of the forward and of the explainer, and the explainer's time ratio to its forward (median of runs);
 *   - relevance of each provider against the first one (the CPU): max |a − b| / max |a|, target ≤ 1e-4.
 * Writes one JSON (--out, default bench/gpu-results.json) and prints a table. A provider that cannot start (no adapter,
 * no driver) is reported with ORT's reason and the rest still runs; the exit code is 0 unless a comparison fails.
 *
 *   node --max-old-space-size=16384 --import tsx bench/gpu.ts --providers cpu,webgpu --models vgg16,resnet50 --batches 8,32,64 --threads 16
 *   node --import tsx bench/gpu.ts --providers cpu --models mnist --batches 2 --runs 2    # smoke test (CPU only)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { compileExplainer } from '../src/index.js';
import { ortOptions } from '../src/runtime/session.js';
import { BENCH_MODELS, BENCH_MODEL_NAMES, randomImages, type BenchModel } from './models.js';
import { median } from './harness.js';

/** The bundled MNIST CNN: small enough for the smoke test on any machine. */
const MNIST: BenchModel = {
  bytes: () => new Uint8Array(readFileSync(new URL('../examples/mnist/mnist-cnn.onnx', import.meta.url))),
  inputName: 'input',
  imageShape: [1, 28, 28],
  numClasses: 10,
  description: 'bundled MNIST CNN',
};
const MODELS: Record<string, BenchModel> = { ...BENCH_MODELS, mnist: MNIST };
const PROVIDERS = ['cpu', 'webgpu', 'cuda'] as const;
type Provider = (typeof PROVIDERS)[number];
/** Relevance of a provider may differ from the CPU's by at most this, relative to max |relevance| (issue 13). */
const MAX_REL_DIFF = 1e-4;

interface Options {
  providers: Provider[];
  models: string[];
  batches: number[];
  runs: number;
  threads: number;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { providers: ['cpu', 'webgpu'], models: ['vgg16', 'resnet50'], batches: [8, 32, 64], runs: 5, threads: os.cpus().length, out: 'bench/gpu-results.json' };
  const list = (v: string | undefined, flag: string): string[] => {
    if (!v) throw new Error(`${flag} needs a value`);
    return v.split(',').map((s) => s.trim()).filter(Boolean);
  };
  const int = (v: string | undefined, flag: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: '${v}' is not an integer ≥ ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--providers') {
      o.providers = list(argv[++i], flag).map((p) => {
        if (!(PROVIDERS as readonly string[]).includes(p)) throw new Error(`--providers: unknown '${p}' (${PROVIDERS.join(', ')})`);
        return p as Provider;
      });
    } else if (flag === '--models') {
      o.models = list(argv[++i], flag);
      for (const m of o.models) if (!MODELS[m]) throw new Error(`--models: unknown '${m}' (${[...BENCH_MODEL_NAMES, 'mnist'].join(', ')})`);
    } else if (flag === '--batches') o.batches = list(argv[++i], flag).map((b) => int(b, flag, 1));
    else if (flag === '--runs') o.runs = int(argv[++i], flag, 1);
    else if (flag === '--threads') o.threads = int(argv[++i], flag, 1);
    else if (flag === '--out') o.out = argv[++i] ?? o.out;
    else if (flag === '--help' || flag === '-h') {
      console.log('usage: bench/gpu.ts [--providers cpu,webgpu,cuda] [--models vgg16,resnet50,ppocr-cls,mnist] [--batches 8,32,64] [--runs 5] [--threads N] [--out file.json]');
      process.exit(0);
    } else throw new Error(`unknown argument '${flag}' (try --help)`);
  }
  if (o.providers[0] !== 'cpu' && o.providers.includes('cpu')) o.providers = ['cpu', ...o.providers.filter((p) => p !== 'cpu')];
  return o;
}

function sessionOptions(provider: Provider, threads: number, compiled: boolean): ort.InferenceSession.SessionOptions {
  const base = ortOptions({ threads, compiledGraph: compiled });
  return { ...base, executionProviders: [provider] };
}

interface Cell {
  model: string;
  batch: number;
  provider: Provider;
  ok: boolean;
  error?: string;
  forwardMs?: number;
  explainerMs?: number;
  forwardImagesPerS?: number;
  explainerImagesPerS?: number;
  ratio?: number;
  /** max |R − R_cpu| / max |R_cpu| (absent for the reference provider). */
  relDiffToCpu?: number;
}

async function timed(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, runs: number): Promise<{ ms: number; last: ort.InferenceSession.OnnxValueMapType }> {
  let last = await session.run(feeds); // warm-up: shader compilation on a GPU provider
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    last = await session.run(feeds);
    ts.push(performance.now() - t0);
  }
  return { ms: median(ts), last };
}

function relDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(a[i]!));
  }
  return m === 0 ? d : d / m;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const cells: Cell[] = [];
  console.log(`bench:gpu — providers ${o.providers.join(', ')}; models ${o.models.join(', ')}; batches ${o.batches.join(', ')}; ${o.threads} CPU threads; onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}`);
  for (const name of o.models) {
    const spec = MODELS[name]!;
    const bytes = spec.bytes({ seed: 0 });
    const compiled = compileExplainer(bytes, { method: 'lrp', composite: 'epsilon-plus-flat', maxPoolRouting: 'compare' });
    const explainerBytes = compiled.bytes();
    const attributionName = compiled.attributionNames[spec.inputName];
    if (!attributionName) throw new Error(`${name}: the explainer has no attribution for input '${spec.inputName}'`);
    for (const batch of o.batches) {
      const x = new ort.Tensor('float32', randomImages(batch, 1234, spec.imageShape), [batch, ...spec.imageShape]);
      const seed = new Float32Array(batch * spec.numClasses);
      for (let b = 0; b < batch; b++) seed[b * spec.numClasses + (b % spec.numClasses)] = 1;
      let reference: Float32Array | undefined;
      for (const provider of o.providers) {
        const cell: Cell = { model: name, batch, provider, ok: false };
        cells.push(cell);
        try {
          const fwd = await ort.InferenceSession.create(bytes, sessionOptions(provider, o.threads, false));
          const f = await timed(fwd, { [spec.inputName]: x }, o.runs);
          await fwd.release();
          const exp = await ort.InferenceSession.create(explainerBytes, sessionOptions(provider, o.threads, true));
          const e = await timed(exp, { [spec.inputName]: x, [compiled.seedName]: new ort.Tensor('float32', seed, [batch, spec.numClasses]) }, o.runs);
          await exp.release();
          const relevance = e.last[attributionName]!.data as Float32Array;
          Object.assign(cell, {
            ok: true,
            forwardMs: f.ms,
            explainerMs: e.ms,
            forwardImagesPerS: (1000 * batch) / f.ms,
            explainerImagesPerS: (1000 * batch) / e.ms,
            ratio: e.ms / f.ms,
          });
          if (reference === undefined) reference = relevance;
          else cell.relDiffToCpu = relDiff(reference, relevance);
        } catch (err) {
          cell.error = (err as Error).message.split('\n')[0]!.slice(0, 400);
        }
        const c = cell;
        console.log(
          c.ok
            ? `  ${name} b${batch} ${provider}: forward ${c.forwardMs!.toFixed(1)} ms (${c.forwardImagesPerS!.toFixed(1)} img/s), LRP ${c.explainerMs!.toFixed(1)} ms (${c.explainerImagesPerS!.toFixed(1)} img/s), ${c.ratio!.toFixed(2)}× forward${c.relDiffToCpu !== undefined ? `, relevance vs cpu ${c.relDiffToCpu.toExponential(2)}` : ''}`
            : `  ${name} b${batch} ${provider}: not run — ${c.error}`,
        );
      }
    }
  }
  const failed = cells.filter((c) => c.relDiffToCpu !== undefined && !(c.relDiffToCpu <= MAX_REL_DIFF));
  writeFileSync(o.out, `${JSON.stringify({ date: new Date().toISOString(), machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30) }, options: o, maxRelDiff: MAX_REL_DIFF, cells }, null, 2)}\n`);
  console.log(`wrote ${o.out}${failed.length ? `; ${failed.length} relevance comparison(s) above ${MAX_REL_DIFF}` : ''}`);
  if (failed.length) process.exitCode = 1;
}

try {
  await main();
} catch (err) {
  console.error(`bench:gpu: ${(err as Error).message}`);
  process.exitCode = 2;
}
