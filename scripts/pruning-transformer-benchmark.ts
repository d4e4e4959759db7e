/**
 * Pruning a transformer by explaining, measured (`npm run bench:pruning-transformer`): the MNIST-rows transformer of
 * examples/transformer-pruning (28 rows as tokens, two blocks of 8 heads and 64 MLP neurons, made by make_models.py),
 * accuracy against compression when the same fraction of every block's heads — or of every MLP's neurons — is
 * removed, ranked by AttnLRP relevance over 200 training images (20 per class), by the composite tuned for pruning
 * (the default grid scored on a validation split: test images 0–999, at half the heads / three quarters of the
 * neurons), and by weight magnitude (L1). Accuracy on test images 1,000–9,999 (never used to choose anything); no
 * fine-tuning. Writes docs/pruning/transformer-curve.json and transformer-{heads,neurons}.svg/png.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import type { ModelProto } from 'onnx-buf';
import { svgToPng } from '../src/evaluation/report/chart.js';
import { lineChart } from '../src/correction/charts.js';
import { pruningCurve, type CurvePoint } from '../src/correction/prune.js';
import { accuracyOf, DEFAULT_GRIDS, parseGrid, prunableLayers, pruneUnits, tuneComposite, unitMagnitudes, unitRelevance, type PruneGranularity, type TuningReport } from '../src/correction/prune-units.js';
import { ModelExplainer } from '../src/methods/explainer.js';
import { readModel } from '../src/onnx/file.js';
import type { Tensor } from '../src/runtime/tensor.js';
import { loadMnist } from '../examples/clever-hans/findings.js';
import { referenceSet, testSet } from '../examples/mnist/pruning.js';

const OUT = 'docs/pruning';
const MODEL = 'examples/transformer-pruning/mnist-rows-transformer.onnx';
const t0 = performance.now();
const data = await loadMnist();
const model = await readModel(MODEL);
const mx = await ModelExplainer.load(model);
/** [n, 1, 28, 28] images as [n, 28, 28] rows (the same numbers). */
const rows = (t: Tensor): Tensor => ({ data: t.data, dims: [t.dims[0]!, 28, 28] });
const ref = referenceSet(data);
const reference = { inputs: rows(ref.inputs), target: ref.labels };
const all = testSet(data);
const cut = (a: number, b: number) => ({ inputs: { data: all.inputs.data.subarray(a * 784, b * 784), dims: [b - a, 28, 28] }, labels: all.labels.slice(a, b) });
const validation = cut(0, 1000);
const test = cut(1000, 10000);
const acc = (m: ModelProto) => accuracyOf(m, test.inputs, test.labels);
const base = await acc(model);

const results: Record<string, { fractions: number[]; curves: Record<string, CurvePoint[]>; tuning: TuningReport; withinOnePoint: unknown[] }> = {};
const plan: [PruneGranularity, number[], number][] = [
  ['heads', Array.from({ length: 8 }, (_, k) => k / 8), 0.5],
  ['neurons', Array.from({ length: 16 }, (_, k) => k / 16), 0.75],
];
for (const [granularity, fractions, tuneAt] of plan) {
  const layers = prunableLayers(model, granularity);
  const prune = (m: ModelProto, remove: Record<string, number[]>) => pruneUnits(m, granularity, remove);
  const curves: Record<string, CurvePoint[]> = {};
  curves['relevance (attnlrp)'] = await pruningCurve(model, await unitRelevance(mx, reference.inputs, layers, granularity, reference.target), fractions, acc, prune);
  const tuned = await tuneComposite(model, granularity, layers, parseGrid(DEFAULT_GRIDS.transformer), tuneAt, reference, validation);
  if (tuned.report.chosen !== 'attnlrp') curves[`relevance (tuned: ${tuned.report.chosen})`] = await pruningCurve(model, tuned.scores, fractions, acc, prune);
  curves['magnitude (L1)'] = await pruningCurve(model, unitMagnitudes(model, granularity, layers), fractions, acc, prune);
  const mag = curves['magnitude (L1)']!;
  // The largest compression where relevance stays within 1 point and magnitude lost more than that.
  const withinOnePoint = Object.entries(curves)
    .filter(([k]) => k.startsWith('relevance'))
    .map(([criterion, c]) => {
      const best = c.filter((p, i) => base - p.accuracy <= 0.01 && base - mag[i]!.accuracy > 0.01).at(-1);
      return { criterion, fraction: best?.fraction ?? null, compression: best?.compression ?? null, relevanceLossPoints: best ? 100 * (base - best.accuracy) : null, magnitudeLossPoints: best ? 100 * (base - mag[c.indexOf(best)]!.accuracy) : null };
    });
  results[granularity] = { fractions, curves, tuning: tuned.report, withinOnePoint };
  const unit = granularity === 'heads' ? 'heads (of 8 per block)' : 'MLP neurons (of 64 per block)';
  const svg = lineChart(`Pruning ${granularity} of the MNIST-rows transformer`, `same fraction of ${unit} removed in both blocks; ${test.labels.length} test images; relevance over ${ref.labels.length} training images; no fine-tuning`, 'share of parameters removed', 'test accuracy', Object.entries(curves).map(([name, c]) => ({ name, points: c.map((p) => [p.compression, p.accuracy] as const) })), { y: [0, 1] });
  await mkdir(OUT, { recursive: true });
  await writeFile(`${OUT}/transformer-${granularity}.svg`, svg);
  await writeFile(`${OUT}/transformer-${granularity}.png`, await svgToPng(svg));
  process.stdout.write(`\n${granularity}: fraction ${fractions.map((f) => f.toFixed(3)).join(' ')}\n`);
  for (const [name, c] of Object.entries(curves)) process.stdout.write(`${name.padEnd(44)} ${c.map((p) => (100 * p.accuracy).toFixed(1)).join(' ')}\n`);
  process.stdout.write(`${'compression %'.padEnd(44)} ${mag.map((p) => (100 * p.compression).toFixed(1)).join(' ')}\n`);
  for (const g of tuned.report.grid) process.stdout.write(`  tune at ${tuneAt}: ${g.label.padEnd(30)} validation ${(100 * g.accuracy).toFixed(1)} %${g.label === tuned.report.chosen ? ' ← chosen' : ''}\n`);
  process.stdout.write(`  magnitude at ${tuneAt}: validation ${(100 * tuned.report.magnitude.accuracy).toFixed(1)} %\n`);
  for (const w of withinOnePoint) process.stdout.write(`  ${JSON.stringify(w)}\n`);
}
await writeFile(
  `${OUT}/transformer-curve.json`,
  JSON.stringify({ model: MODEL, testImages: test.labels.length, testRange: [1000, 10000], validationRange: [0, 1000], referenceImages: ref.labels.length, unprunedAccuracy: base, ...results, seconds: (performance.now() - t0) / 1000 }, null, 2) + '\n',
);
process.stdout.write(`\nunpruned ${(100 * base).toFixed(2)} %; ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
