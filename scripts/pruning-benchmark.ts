/**
 * Pruning by explaining, measured (`npm run bench:pruning`):
 * 1. The accuracy-vs-compression curves of the bundled MNIST CNN on the 10,000 test images, pruning the same fraction
 *    of channels of both convolutions by LRP relevance (ε-plus-flat, and ε-α2β1-flat: a composite that suits
 *    pruning, as Hatefi et al. tune it) aggregated over 200 unseen training images, and by filter magnitude (L1).
 * 2. Targeted removal of the channels tied to the Clever-Hans artefact: conv2 channels ranked by their share of the
 *    artefact CAV's evidence, the top k removed, the clean/pasted accuracy measured.
 * Writes docs/pruning/curve.json, curve.svg/png and artefact-channels.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { ModelExplainer } from '../src/methods/explainer.js';
import { readModel } from '../src/onnx/file.js';
import { svgToPng } from '../src/evaluation/report/chart.js';
import { lineChart } from '../src/correction/charts.js';
import { artefactChannelScores, channelRelevance, convLayers, convOf, filterMagnitudes, pruningCurve, type CurvePoint } from '../src/correction/prune.js';
import { evaluateModel } from '../src/correction/reevaluate.js';
import { layerActivations } from '../src/strategies/features.js';
import { normalizeMnist, pasteArtefact } from '../src/strategies/artefact.js';
import { pruneChannels } from '../src/weight-surgery/prune-channels.js';
import { loadAll } from '../examples/clever-hans/findings.js';
import { evaluationSets } from '../examples/clever-hans/correction.js';
import { accuracy, MODEL, referenceSet, testSet } from '../examples/mnist/pruning.js';

const OUT = 'docs/pruning';
const t0 = performance.now();
const { mx: chMx, data, spec } = await loadAll();
const model = await readModel(MODEL);
const mx = await ModelExplainer.load(model);
const ref = referenceSet(data);
const test = testSet(data);
const layers = convLayers(model).map((l) => l.output);
const fractions = Array.from({ length: 13 }, (_, k) => k / 16);
const acc = (m: Parameters<typeof accuracy>[0]) => accuracy(m, test);
const curves: Record<string, CurvePoint[]> = {};
for (const composite of ['epsilon-plus-flat', 'epsilon-alpha2-beta1-flat']) {
  curves[`relevance (${composite})`] = await pruningCurve(model, await channelRelevance(mx, ref.inputs, layers, ref.labels, { composite }), fractions, acc);
}
curves['magnitude (L1)'] = await pruningCurve(model, filterMagnitudes(model), fractions, acc);
const base = curves['magnitude (L1)']![0]!.accuracy;
// The done-when figure: the largest compression where relevance pruning stays within 1 point and magnitude lost more.
const mag = curves['magnitude (L1)']!;
const wins = Object.entries(curves)
  .filter(([k]) => k.startsWith('relevance'))
  .map(([name, c]) => {
    const ok = c.filter((p, i) => base - p.accuracy <= 0.01 && base - mag[i]!.accuracy > base - p.accuracy && base - mag[i]!.accuracy > 0.01);
    const best = ok.at(-1);
    return { criterion: name, compression: best?.compression ?? 0, fraction: best?.fraction ?? 0, relevanceLossPoints: best ? 100 * (base - best.accuracy) : 0, magnitudeLossPoints: best ? 100 * (base - mag[c.indexOf(best)]!.accuracy) : 0 };
  });

// Targeted removal of the artefact's channels in the Clever-Hans model.
const chModel = chMx.model;
const cavFile = JSON.parse(await (await import('node:fs/promises')).readFile('docs/clever-hans/cav.json', 'utf8')) as { layer: string; direction: number[] };
const idx: number[] = [];
for (let i = spec.trainImages; idx.length < 400; i++) if (data.train.y[i] !== spec.class) idx.push(i);
const pasted = await layerActivations(chMx, normalizeMnist(pasteArtefact(data.train.x, 28, 28, idx.slice(0, 200), spec, () => true), 200, 28, 28), cavFile.layer, 'flatten');
const clean = await layerActivations(chMx, normalizeMnist(pasteArtefact(data.train.x, 28, 28, idx.slice(200), spec, () => false), 200, 28, 28), cavFile.layer, 'flatten');
const conv = convOf(chModel, cavFile.layer);
const channels = convLayers(chModel).find((l) => l.output === conv.output)!.channels;
const scores = artefactChannelScores(pasted, clean, cavFile.direction, channels);
const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!);
const sets = evaluationSets(data, spec);
delete sets.tcav;
const targeted = [];
for (const k of [0, 1, 2, 3]) {
  const pruned = pruneChannels(chModel, { [conv.node]: order.slice(0, k) });
  const ev = await evaluateModel(await ModelExplainer.load(pruned.model), sets);
  targeted.push({ removed: order.slice(0, k), ...ev });
}
await mkdir(OUT, { recursive: true });
await writeFile(`${OUT}/curve.json`, JSON.stringify({ model: 'examples/mnist/mnist-cnn.onnx', testImages: test.labels.length, referenceImages: ref.labels.length, layers, unprunedAccuracy: base, curves, doneWhen: wins, seconds: (performance.now() - t0) / 1000 }, null, 2) + '\n');
await writeFile(`${OUT}/artefact-channels.json`, JSON.stringify({ model: 'examples/clever-hans/clever-hans-cnn.onnx', layer: conv.node, channelScores: Array.from(scores), order, testImages: sets.labels.length, targeted }, null, 2) + '\n');
const svg = lineChart('Pruning the MNIST CNN: accuracy vs compression', `same fraction of channels removed from conv1 and conv2; ${test.labels.length} test images; relevance over ${ref.labels.length} training images`, 'share of parameters removed', 'test accuracy', Object.entries(curves).map(([name, c]) => ({ name, points: c.map((p) => [p.compression, p.accuracy] as const) })), { y: [0, 1] });
await writeFile(`${OUT}/curve.svg`, svg);
await writeFile(`${OUT}/curve.png`, await svgToPng(svg));
for (const [name, c] of Object.entries(curves)) process.stdout.write(`${name.padEnd(38)} ${c.map((p) => (100 * p.accuracy).toFixed(1)).join(' ')}\n`);
process.stdout.write(`compression: ${curves['magnitude (L1)']!.map((p) => (100 * p.compression).toFixed(0)).join(' ')}\n`);
for (const w of wins) process.stdout.write(`${w.criterion}: within 1 point (−${w.relevanceLossPoints.toFixed(2)}) at ${(100 * w.compression).toFixed(1)} % compression, where magnitude lost ${w.magnitudeLossPoints.toFixed(2)} points\n`);
for (const t of targeted) process.stdout.write(`artefact channels removed [${t.removed.join(', ')}]: clean ${(100 * t.cleanAccuracy).toFixed(1)} %, pasted ${(100 * t.artefactAccuracy).toFixed(1)} %, flips to 3 ${(100 * t.flippedToClass).toFixed(1)} %, share ${t.relevanceShare.toFixed(3)}\n`);
