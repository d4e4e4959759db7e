/**
 * `node --import tsx bench/profile.ts <vgg16|resnet50|ppocr-cls> <batch> <forward|lrp|gradient> [runs]`: where the time of one
 * configuration goes, per ONNX op type, from ONNX Runtime's own profiler (node events of the last run).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EXPLAINER_SESSION_OPTIONS, SESSION_OPTIONS } from './harness.js';
import { BENCH_MODELS, BENCH_MODEL_NAMES, randomImages, type BenchModelName } from './models.js';
import { compileExplainer } from '../src/index.js';

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; output_size?: string; activation_size?: string };
}

async function main(): Promise<void> {
  const [model = 'vgg16', b = '1', config = 'lrp', r = '3'] = process.argv.slice(2);
  const batch = Number(b);
  const runs = Number(r);
  if (!(BENCH_MODEL_NAMES as readonly string[]).includes(model)) throw new Error(`unknown model '${model}' (${BENCH_MODEL_NAMES.join(', ')})`);
  const spec = BENCH_MODELS[model as BenchModelName];
  let bytes = spec.bytes({ seed: 0 });
  const feeds: Record<string, ort.Tensor> = { [spec.inputName]: new ort.Tensor('float32', randomImages(batch, 1234, spec.imageShape), [batch, ...spec.imageShape]) };
  if (config !== 'forward') {
    const t0 = performance.now();
    const c = compileExplainer(bytes, config === 'lrp' ? { method: 'lrp', composite: 'epsilon-plus-flat' } : { method: 'gradient' });
    const t1 = performance.now();
    bytes = c.bytes();
    console.log(`compile ${(t1 - t0).toFixed(0)} ms (compileMs ${c.compileMs.toFixed(0)}), serialize ${(performance.now() - t1).toFixed(0)} ms`);
    const seed = new Float32Array(batch * spec.numClasses);
    for (let i = 0; i < batch; i++) seed[i * spec.numClasses] = 1;
    feeds[c.seedName] = new ort.Tensor('float32', seed, [batch, spec.numClasses]);
  }
  const prefix = path.join(os.tmpdir(), `xsys-profile-${process.pid}`);
  // PROFILE_OPT=disabled|basic|extended|all overrides the graph optimisation level; PROFILE_ARENA=0 turns the arena off.
  const opt = process.env.PROFILE_OPT as ort.InferenceSession.SessionOptions['graphOptimizationLevel'] | undefined;
  const session = await ort.InferenceSession.create(bytes, {
    ...(config === 'forward' ? SESSION_OPTIONS : EXPLAINER_SESSION_OPTIONS),
    ...(opt ? { graphOptimizationLevel: opt } : {}),
    ...(process.env.PROFILE_ARENA === '0' ? { enableCpuMemArena: false } : {}),
    enableProfiling: true,
    profileFilePrefix: prefix,
  });
  const warmup = 2;
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  session.endProfiling();
  await session.release();
  // onnxruntime-node does not return the file name: it is <prefix>_<timestamp>.json.
  const dir = path.dirname(prefix);
  const file = path.join(dir, readdirSync(dir).find((f) => f.startsWith(path.basename(prefix)) && f.endsWith('.json'))!);
  const events = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[];
  rmSync(file, { force: true });
  // Only the timed runs: node events after the first timed model_run began.
  const runStarts = events.filter((e) => e.name === 'model_run').map((e) => (e as unknown as { ts: number }).ts).sort((a, b) => a - b);
  const from = runStarts[warmup] ?? 0;
  const nodeEvents = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && (e as unknown as { ts: number }).ts >= from);
  const byOp = new Map<string, { us: number; count: number }>();
  for (const e of nodeEvents) {
    const op = e.args?.op_name ?? '?';
    const entry = byOp.get(op) ?? { us: 0, count: 0 };
    entry.us += e.dur / runs;
    entry.count += 1 / runs;
    byOp.set(op, entry);
  }
  const total = [...byOp.values()].reduce((a, v) => a + v.us, 0);
  console.log(`${model} b${batch} ${config}: runs ${times.map((t) => t.toFixed(0)).join(', ')} ms; kernels ${(total / 1000).toFixed(1)} ms/run`);
  for (const [op, v] of [...byOp.entries()].sort((a, b) => b[1].us - a[1].us)) {
    console.log(`  ${op.padEnd(22)} ${(v.us / 1000).toFixed(1).padStart(8)} ms  ${(100 * v.us / total).toFixed(1).padStart(5)} %  ×${Math.round(v.count)}`);
  }
  if (process.env.PROFILE_TOP) {
    const byNode = new Map<string, number>();
    for (const e of nodeEvents) byNode.set(`${e.args?.op_name} ${e.name}`, (byNode.get(`${e.args?.op_name} ${e.name}`) ?? 0) + e.dur / runs);
    for (const [n, us] of [...byNode.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_TOP))) console.log(`    ${(us / 1000).toFixed(2).padStart(8)} ms  ${n}`);
  }
}

await main();
