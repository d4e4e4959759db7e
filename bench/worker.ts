/**
 * One benchmark measurement, meant to run alone in its own Node process (see `runInChild` in harness.ts):
 *
 *   node --expose-gc --import tsx bench/worker.ts '{"model":"resnet50","modelPath":"…","mode":"forward",…}'
 *
 * Reads the model, compiles it (explainer mode), creates the ORT session, times `runs` runs after `warmup`
 * warm-up runs, and prints one line `RESULT_MARKER + JSON` (a WorkerResult) on stdout. Peak RSS is this
 * process's own high-water mark (see `peakRss`).
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import {
  RESULT_MARKER,
  createSession,
  median,
  timePaired,
  timeRuns,
  type PairedTiming,
  type CompileExplainer,
  type RssPhases,
  type WorkerArgs,
  type WorkerResult,
  type WorkerSuccess,
} from './harness.js';
import { OUTPUT_NAME, randomImages } from './models.js';

/** The library entry point, relative to this file (bench/worker.ts → src/index.ts, dist/bench → dist/src). */
const EXPLAINER_MODULE = '../src/index.js';

const mib = (kib: number): number => Math.round((kib / 1024) * 10) / 10;

/**
 * Peak RSS of this process, MiB. On Linux this is VmHWM from /proc/self/status, *not* `resourceUsage().maxRSS`:
 * Linux carries ru_maxrss across fork+exec, so a child spawned by a parent holding 600 MB reports maxRSS ≥ 600 MB
 * before doing anything (verified here). VmHWM is the high-water mark of this process's own address space.
 * Elsewhere falls back to maxRSS (which is in KiB on every platform libuv supports).
 */
const PEAK_RSS_SOURCE: 'VmHWM' | 'maxRSS' = readVmHwmKiB() === undefined ? 'maxRSS' : 'VmHWM';

function readVmHwmKiB(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const peakRss = (): number => mib(readVmHwmKiB() ?? process.resourceUsage().maxRSS);
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

async function loadCompileExplainer(): Promise<CompileExplainer> {
  // A non-literal specifier keeps tsc from resolving (and type-checking against) src/ while it is being written;
  // the contract is declared in harness.ts.
  const specifier: string = EXPLAINER_MODULE;
  const mod = (await import(specifier)) as { compileExplainer?: unknown };
  if (typeof mod.compileExplainer !== 'function') {
    throw new Error(`${EXPLAINER_MODULE} does not export compileExplainer()`);
  }
  return mod.compileExplainer as CompileExplainer;
}

async function measure(args: WorkerArgs): Promise<WorkerSuccess> {
  const { mode, batch, runs, warmup, numClasses } = args;
  const compileExplainer = mode === 'explainer' ? await loadCompileExplainer() : undefined;
  const rss: Partial<RssPhases> = { afterImport: peakRss() };

  let file: Buffer | undefined = readFileSync(args.modelPath);
  let modelBytes: Uint8Array | undefined = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  rss.afterLoad = peakRss();

  let sessionBytes = modelBytes;
  let inputName = args.inputName;
  let seedName: string | undefined;
  let logitsName = OUTPUT_NAME;
  let attributionName: string | undefined;
  let compileMs: number | undefined;
  let compileWallMs: number | undefined;
  let serializeMs: number | undefined;
  let compileCpuMs: number | undefined;
  if (compileExplainer) {
    if (!args.method) throw new Error('explainer mode needs a method');
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const compiled = await compileExplainer(modelBytes, { method: args.method, composite: args.composite });
    compileWallMs = performance.now() - t0;
    compileMs = compiled.compileMs;
    const c1 = process.cpuUsage();
    const t1 = performance.now();
    sessionBytes = typeof compiled.bytes === 'function' ? compiled.bytes() : compiled.bytes;
    serializeMs = performance.now() - t1;
    const c2 = process.cpuUsage();
    // CPU time (user + system) is less inflated than wall time when other processes share the cores.
    const cpuMs = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): number => (b.user - a.user + b.system - a.system) / 1000;
    compileCpuMs = cpuMs(c0, c1) + cpuMs(c1, c2);
    if (compiled.inputNames.length !== 1) throw new Error(`expected one model input, got ${compiled.inputNames}`);
    inputName = compiled.inputNames[0]!;
    seedName = compiled.seedName;
    if (compiled.scoresName !== undefined && compiled.attributionNames?.[inputName] !== undefined) {
      logitsName = compiled.scoresName;
      attributionName = compiled.attributionNames[inputName];
    } else {
      if (compiled.outputNames.length !== 2) throw new Error(`expected [logits, attribution], got ${compiled.outputNames}`);
      [logitsName, attributionName] = compiled.outputNames as [string, string];
    }
  }
  if (compileExplainer) {
    // The explainer needs only its compiled bytes from here on (as the forward session needs only the model's).
    modelBytes = undefined;
    file = undefined;
    gc();
  }
  rss.afterCompile = peakRss();

  const { session, ms: sessionMs } = await createSession(sessionBytes, mode);
  // A forward session's scores are the model's own (first) output, whatever the model calls it.
  if (!compileExplainer) logitsName = session.outputNames[0] ?? OUTPUT_NAME;
  // The session owns its copy of the weights; let the JS-side model bytes go so the run phase is not inflated.
  modelBytes = undefined;
  file = undefined;
  sessionBytes = new Uint8Array(0);
  gc();
  rss.afterSession = peakRss();

  const image = randomImages(batch, 1234, args.imageShape);
  const feeds: Record<string, ort.Tensor> = {
    [inputName]: new ort.Tensor('float32', image, [batch, ...args.imageShape]),
  };
  // Target class 0 for every sample (any fixed class would do for timing).
  const target = 0;
  if (seedName !== undefined) {
    const seed = new Float32Array(batch * numClasses);
    for (let b = 0; b < batch; b++) seed[b * numClasses + target] = 1;
    feeds[seedName] = new ort.Tensor('float32', seed, [batch, numClasses]);
  }
  let last: ort.InferenceSession.OnnxValueMapType | undefined;
  const timing = await timeRuns(
    async () => {
      last = await session.run(feeds);
    },
    runs,
    warmup,
  );
  rss.afterRuns = peakRss();
  const rssEndMB = Math.round((process.memoryUsage.rss() / 2 ** 20) * 10) / 10;

  const logits = last![logitsName];
  if (!logits) throw new Error(`output ${logitsName} missing`);
  const logitsData = logits.data as Float32Array;
  const checks: WorkerSuccess['checks'] = { logitsDims: [...logits.dims], logitsFinite: allFinite(logitsData) };
  if (attributionName !== undefined) {
    const attr = last![attributionName];
    if (!attr) throw new Error(`output ${attributionName} missing`);
    const a = attr.data as Float32Array;
    checks.attributionDims = [...attr.dims];
    checks.attributionFinite = allFinite(a);
    let nonZero = 0;
    let sum0 = 0;
    const per = a.length / batch;
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== 0) nonZero++;
      if (i < per) sum0 += a[i]!;
    }
    checks.attributionNonZero = nonZero;
    checks.conservation = sum0 / logitsData[target]!;
  }
  let paired: PairedTiming | undefined;
  if (compileExplainer && (args.pairedRuns ?? 0) > 0) {
    // Peak RSS is already recorded; the forward session added now does not count towards it.
    const fwd = await createSession(readFileSync(args.modelPath));
    const fwdFeeds = { [args.inputName]: feeds[inputName]! };
    const t = await timePaired(() => fwd.session.run(fwdFeeds), () => session.run(feeds), args.pairedRuns!);
    await fwd.session.release();
    paired = {
      forwardMs: t.a,
      explainerMs: t.b,
      ratioOfMedians: median(t.b) / median(t.a),
      medianOfRatios: median(t.b.map((x, i) => x / t.a[i]!)),
    };
  }
  await session.release();

  return {
    ok: true,
    args,
    compileMs,
    compileWallMs,
    serializeMs,
    compileCpuMs,
    sessionMs,
    timing,
    paired,
    peakRssMB: rss.afterRuns,
    rss: rss as RssPhases,
    rssEndMB,
    peakRssSource: PEAK_RSS_SOURCE,
    maxRssMB: mib(process.resourceUsage().maxRSS),
    checks,
    ortVersion: ort.env.versions.node ?? ort.env.versions.common,
    nodeVersion: process.version,
  };
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (!raw) {
    console.error('usage: worker.ts <json WorkerArgs>');
    process.exit(2);
  }
  const args = JSON.parse(raw) as WorkerArgs;
  let result: WorkerResult;
  try {
    result = await measure(args);
  } catch (e) {
    const err = e as Error;
    result = { ok: false, args, error: err.stack ?? String(err) };
  }
  process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`);
}

await main();
