/**
 * `node --import tsx bench/liveness.ts <vgg16|resnet50|vit|bert> <batch> <forward|lrp|gradient|attnlrp> [top]`:
 * which tensors are alive when a configuration's memory peaks. ONNX Runtime saves its optimised graph and profiles one
 * run; replaying the executed node order, every output lives from its node until its last consumer ran (graph outputs
 * until the end). Prints the peak of live activation bytes and the tensors alive then, grouped by producing op type.
 * It models ORT's own release plan, not the arena's rounding or fragmentation, so RSS sits above it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { EXPLAINER_SESSION_OPTIONS, SESSION_OPTIONS } from './harness.js';
import { BENCH_MODELS, randomImages } from './models.js';
import { BERT_BASE, VIT_B16, buildTransformer, randomIds } from './transformers.js';
import { compileExplainer } from '../src/index.js';
import { toBinary } from '@bufbuild/protobuf';

interface NodeEvent {
  cat: string;
  name: string;
  ts: number;
  args?: { op_name?: string; output_size?: string };
}

function modelAndFeeds(model: string, batch: number): { bytes: Uint8Array; feeds: Record<string, ort.Tensor>; classes: number } {
  if (model === 'vgg16' || model === 'resnet50') {
    const spec = BENCH_MODELS[model];
    const bytes = spec.bytes({ seed: 0 });
    return { bytes, classes: spec.numClasses, feeds: { [spec.inputName]: new ort.Tensor('float32', randomImages(batch, 1234, spec.imageShape), [batch, ...spec.imageShape]) } };
  }
  const spec = model === 'vit' ? VIT_B16 : BERT_BASE;
  const bytes = toBinary(ModelProtoSchema, buildTransformer(spec));
  if (model === 'vit') {
    return { bytes, classes: spec.classes ?? 1000, feeds: { pixel_values: new ort.Tensor('float32', randomImages(batch), [batch, 3, 224, 224]) } };
  }
  const seq = 128;
  return {
    bytes,
    classes: spec.classes ?? 2,
    feeds: {
      input_ids: new ort.Tensor('int64', randomIds(batch, seq, spec.vocab!), [batch, seq]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(batch * seq).fill(1n), [batch, seq]),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(batch * seq), [batch, seq]),
    },
  };
}

async function main(): Promise<void> {
  const [model = 'vit', b = '1', config = 'attnlrp', top = '25'] = process.argv.slice(2);
  const batch = Number(b);
  let { bytes, feeds, classes } = modelAndFeeds(model, batch);
  if (config !== 'forward') {
    const c = compileExplainer(bytes, config === 'gradient' ? { method: 'gradient' } : { method: 'lrp', composite: config === 'lrp' ? 'epsilon-plus-flat' : config });
    bytes = c.bytes();
    const seed = new Float32Array(batch * classes);
    for (let i = 0; i < batch; i++) seed[i * classes] = 1;
    feeds[c.seedName] = new ort.Tensor('float32', seed, [batch, classes]);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xsys-liveness-'));
  const optimized = path.join(dir, 'optimized.onnx');
  const session = await ort.InferenceSession.create(bytes, {
    ...(config === 'forward' ? SESSION_OPTIONS : EXPLAINER_SESSION_OPTIONS),
    optimizedModelFilePath: optimized,
    enableProfiling: true,
    profileFilePrefix: path.join(dir, 'profile'),
  });
  // Warm-up runs first (ORT profiles every run; only the last one is replayed below).
  const warm = Number(process.env.LIVENESS_RUNS ?? 1);
  for (let i = 0; i < warm; i++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  const events = JSON.parse(readFileSync(path.join(dir, readdirSync(dir).find((f) => f.startsWith('profile'))!), 'utf8')) as NodeEvent[];
  const graph = fromBinary(ModelProtoSchema, readFileSync(optimized)).graph!;
  rmSync(dir, { recursive: true, force: true });

  const nodes = new Map(graph.node.map((n) => [n.name, n]));
  const runs = events.filter((e) => e.name === 'model_run').map((e) => e.ts).sort((x, y) => x - y);
  const lastRun = runs[runs.length - 1] ?? 0;
  const order = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= lastRun).sort((x, y) => x.ts - y.ts);
  const step = new Map<string, number>();
  order.forEach((e, i) => step.set(e.name.slice(0, -'_kernel_time'.length), i));
  const lastUse = new Map<string, number>();
  const size = new Map<string, number>();
  const producer = new Map<string, string>();
  const outputs = new Set(graph.output.map((o) => o.name));
  order.forEach((e, i) => {
    const name = e.name.slice(0, -'_kernel_time'.length);
    const node = nodes.get(name);
    if (!node) return;
    for (const t of node.input) if (t) lastUse.set(t, i);
    const outs = node.output.filter(Boolean);
    // The profiler reports the sum over a node's outputs; multi-output nodes are split evenly.
    for (const t of outs) {
      size.set(t, Number(e.args?.output_size ?? 0) / outs.length);
      producer.set(t, node.opType);
    }
  });
  let live = 0;
  let peak = 0;
  let peakAt = 0;
  const alive = new Set<string>();
  let peakSet: string[] = [];
  order.forEach((e, i) => {
    const node = nodes.get(e.name.slice(0, -'_kernel_time'.length));
    if (!node) return;
    for (const t of node.output) if (t && size.has(t)) { alive.add(t); live += size.get(t)!; }
    if (live > peak) { peak = live; peakAt = i; peakSet = [...alive]; }
    for (const t of [...node.input, ...node.output]) {
      if (t && alive.has(t) && !outputs.has(t) && (lastUse.get(t) ?? i) <= i) { alive.delete(t); live -= size.get(t)!; }
    }
  });
  const mb = (x: number): string => (x / 2 ** 20).toFixed(1);
  console.log(`${model} b${batch} ${config}: ${order.length} node runs; peak live activations ${mb(peak)} MiB at step ${peakAt} (${order[peakAt]?.args?.op_name})`);
  const byOp = new Map<string, { bytes: number; count: number }>();
  for (const t of peakSet) {
    const k = producer.get(t) ?? '?';
    const v = byOp.get(k) ?? { bytes: 0, count: 0 };
    v.bytes += size.get(t)!;
    v.count++;
    byOp.set(k, v);
  }
  for (const [op, v] of [...byOp.entries()].sort((x, y) => y[1].bytes - x[1].bytes)) console.log(`  ${op.padEnd(24)} ${mb(v.bytes).padStart(8)} MiB  ×${v.count}`);
  // Kernel time of this (single, first) run by op type: a rough profile, the first run includes warm-up costs.
  const time = new Map<string, number>();
  for (const e of order) time.set(e.args?.op_name ?? '?', (time.get(e.args?.op_name ?? '?') ?? 0) + ((e as unknown as { dur: number }).dur ?? 0));
  const total = [...time.values()].reduce((a, b) => a + b, 0);
  console.log(`  kernel time ${(total / 1000).toFixed(1)} ms: ${[...time.entries()].sort((x, y) => y[1] - x[1]).slice(0, 10).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`).join(', ')}`);
  console.log('  largest:');
  for (const t of [...peakSet].sort((x, y) => size.get(y)! - size.get(x)!).slice(0, Number(top))) console.log(`    ${mb(size.get(t)!).padStart(7)} MiB  ${producer.get(t)}  ${t}`);
}

await main();
