/**
 * `xsys spray`, `xsys prototypes` and `xsys tcav`: the strategy analyses of src/strategies over a dataset (a .npy
 * array, an IDX file or a folder of images, loaded as `xsys evaluate` loads them), each writing a JSON report and
 * PNG pictures into an output directory.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import { loadDataset, type Dataset } from '../data/dataset.js';
import { explain } from '../methods/explain.js';
import { ModelExplainer } from '../methods/explainer.js';
import { METHOD_NAMES, type MethodName } from '../methods/types.js';
import { writePng } from '../render/png.js';
import { heatmapStrip, scatterImage } from '../render/strategy-images.js';
import { size, type Tensor } from '../runtime/tensor.js';
import { CAV_METHODS, type CavMethod } from '../strategies/cav.js';
import { layerActivations, layerGradients, relevanceFeatures, type LayerReduce } from '../strategies/features.js';
import { assess, fitPrototypes } from '../strategies/pcx.js';
import { subset } from '../strategies/points.js';
import { spray } from '../strategies/spray.js';
import { tcav } from '../strategies/tcav.js';
import { parseNumberList } from './options.js';
import { DEFAULT_COMPOSITE } from '../composites/index.js';

export interface DataFlags {
  labels?: string;
  limit?: string;
  offset?: string;
  size?: string;
  grayscale?: boolean;
  mean?: string;
  std?: string;
}

type Run = (fn: () => Promise<number>) => Promise<void>;

export function int(flag: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (!Number.isInteger(v) || v < min || v > max) throw new InvalidArgumentError(flag, `must be an integer ${min}–${max}, got '${value}'`);
  return v;
}

export function num(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (!Number.isFinite(v) || v < min || v > max) throw new InvalidArgumentError(flag, `must be a number in [${min}, ${max}], got '${value}'`);
  return v;
}

export function choice<T extends string>(flag: string, value: string, values: readonly T[]): T {
  if (!values.includes(value as T)) throw new InvalidArgumentError(flag, `must be one of ${values.join(', ')}, got '${value}'`);
  return value as T;
}

export function loadData(path: string, flags: DataFlags): Promise<Dataset> {
  const sz = parseNumberList('--size', flags.size);
  return loadDataset(path, {
    labels: flags.labels,
    limit: int('--limit', flags.limit, 1),
    offset: int('--offset', flags.offset, 0),
    size: sz ? (sz.length === 1 ? sz[0]! : [sz[0]!, sz[1]!]) : undefined,
    grayscale: flags.grayscale,
    mean: parseNumberList('--mean', flags.mean),
    std: parseNumberList('--std', flags.std),
  });
}

export function dataOptions(cmd: Command): Command {
  return cmd
    .option('--labels <file>', 'labels (.npy, IDX or JSON); IDX images find their sibling labels file')
    .option('--limit <n>', 'use at most n samples')
    .option('--offset <n>', 'skip the first n samples')
    .option('--size <h[,w]>', 'resize images to this size')
    .option('--grayscale', 'load images as one channel')
    .option('--mean <m[,m,m]>', 'normalisation mean (per channel)')
    .option('--std <s[,s,s]>', 'normalisation std (per channel)');
}

export function tensorOf(ds: Dataset, indices?: readonly number[]): Tensor {
  const per = size(ds.shape.slice(1));
  if (!indices) return { data: ds.x, dims: ds.shape };
  const data = new Float32Array(indices.length * per);
  indices.forEach((i, k) => data.set(ds.x.subarray(i * per, (i + 1) * per), k * per));
  return { data, dims: [indices.length, ...ds.shape.slice(1)] };
}

export async function modelId(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

export async function writeJson(dir: string, name: string, value: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(value, null, 2) + '\n');
  return file;
}

/** Samples of the class: by label when labels are known, else by the model's prediction. */
async function classIndices(mx: ModelExplainer, ds: Dataset, cls: number): Promise<{ indices: number[]; by: 'label' | 'prediction' }> {
  if (ds.labels) return { indices: Array.from(ds.labels.keys()).filter((i) => ds.labels![i] === cls), by: 'label' };
  const scores = await mx.scores(tensorOf(ds));
  const n = ds.shape[0]!;
  const k = size(scores.dims) / n;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (scores.data[i * k + c]! > scores.data[i * k + best]!) best = c;
    if (best === cls) out.push(i);
  }
  return { indices: out, by: 'prediction' };
}

export function registerStrategies(program: Command, run: Run): void {
  dataOptions(
    program
      .command('spray')
      .description("SpRAy: cluster a class's heatmaps into strategies (spectral clustering with the eigengap), with a 2-D map; writes spray.json, embedding.png, clusters.png")
      .argument('<model>', 'ONNX classifier')
      .argument('<data>', 'dataset: .npy, IDX file or image folder')
      .requiredOption('--class <k>', 'class whose samples (by label, else by prediction) are explained for that class')
      .option('-m, --method <name>', `attribution method: ${METHOD_NAMES.join(', ')}`, 'lrp')
      .option('-c, --composite <name>', 'LRP composite')
      .option('--clusters <k>', 'number of clusters (default: the eigengap suggestion)')
      .option('--max-clusters <k>', 'largest number the eigengap considers', '10')
      .option('--neighbors <k>', 'neighbours in the kNN graph', '10')
      .option('--pool <p>', 'sum-pool heatmaps by p×p before clustering (default: to ≤ 12 per side)')
      .option('--no-embedding', 'skip the 2-D map')
      .option('--seed <n>', 'random seed', '0')
      .option('-o, --out <dir>', 'output directory', 'xsys-spray'),
  ).action((model: string, data: string, flags: DataFlags & { class: string; method: string; composite?: string; clusters?: string; maxClusters: string; neighbors: string; pool?: string; embedding: boolean; seed: string; out: string }) =>
    run(async () => {
      const method = choice('--method', flags.method, METHOD_NAMES) as MethodName;
      const mx = await ModelExplainer.load(model);
      const ds = await loadData(data, flags);
      const cls = int('--class', flags.class, 0)!;
      const { indices, by } = await classIndices(mx, ds, cls);
      if (indices.length < 3) throw new InvalidArgumentError('--class', `only ${indices.length} samples of class ${cls} (by ${by}); SpRAy needs at least 3`);
      const input = tensorOf(ds, indices);
      const n = indices.length;
      const spatial = ds.shape.slice(2);
      if (spatial.length !== 2) throw new InvalidArgumentError('<data>', `SpRAy clusters 2-D heatmaps; inputs of shape [${ds.shape.join(', ')}] are not images`);
      const [h, w] = spatial as [number, number];
      const heat = new Float32Array(n * h * w);
      const batch = 64;
      for (let s = 0; s < n; s += batch) {
        const e = Math.min(n, s + batch);
        const per = size(ds.shape.slice(1));
        const r = await explain(mx, { data: input.data.subarray(s * per, e * per), dims: [e - s, ...ds.shape.slice(1)] }, { method, composite: flags.composite, target: cls });
        const att = r.attribution;
        const ch = size(att.dims) / (e - s) / (h * w);
        for (let i = 0; i < e - s; i++) for (let c = 0; c < ch; c++) for (let j = 0; j < h * w; j++) heat[(s + i) * h * w + j]! += att.data[(i * ch + c) * h * w + j]!;
      }
      const result = spray({ data: heat, n, h, w }, {
        clusters: int('--clusters', flags.clusters, 1, n - 1),
        maxClusters: int('--max-clusters', flags.maxClusters, 2, 50),
        neighbors: int('--neighbors', flags.neighbors, 1, Math.min(100, n - 1)),
        pool: int('--pool', flags.pool, 1, Math.max(h, w)),
        embedding: flags.embedding,
        seed: int('--seed', flags.seed, 0),
      });
      await mkdir(flags.out, { recursive: true });
      const files = [
        await writeJson(flags.out, 'spray.json', {
          model: { file: model, sha256: await modelId(model) },
          data: { source: ds.source, class: cls, selectedBy: by, samples: n },
          method,
          composite: method === 'lrp' ? flags.composite ?? DEFAULT_COMPOSITE : undefined,
          suggestedClusters: result.suggestedClusters,
          eigenvalues: result.eigenvalues,
          eigengaps: result.eigengaps,
          pool: result.pool,
          features: result.features,
          clusters: result.clusters.map((c) => ({ label: c.label, size: c.size, members: c.members.map((m) => ({ index: indices[m], name: ds.names[indices[m]!] })), meanHeatmap: Array.from(c.meanHeatmap) })),
          samples: indices.map((idx, k) => ({ index: idx, name: ds.names[idx], cluster: result.labels[k], ...(result.embedding ? { x: result.embedding[k * 2], y: result.embedding[k * 2 + 1] } : {}) })),
        }),
      ];
      await writePng(join(flags.out, 'clusters.png'), heatmapStrip(result.clusters.map((c) => c.meanHeatmap), h, w), Math.max(1, Math.floor(112 / Math.max(h, w))));
      files.push(join(flags.out, 'clusters.png'));
      if (result.embedding) {
        await writePng(join(flags.out, 'embedding.png'), scatterImage(result.embedding, result.labels));
        files.push(join(flags.out, 'embedding.png'));
      }
      process.stdout.write(`${n} heatmaps of class ${cls} (by ${by}); eigengap suggests ${result.suggestedClusters}; clusters: ${result.clusters.map((c) => c.size).join(', ')}\n`);
      process.stdout.write(`wrote ${files.join(', ')}\n`);
      return 0;
    }),
  );

  dataOptions(
    program
      .command('prototypes')
      .description('PCX: per class, a Gaussian mixture over concept-relevance vectors (LRP relevance per channel of --layer); prototypes, and with --test each test prediction\'s prototype, log-likelihood and outlier flag; writes prototypes.json and prototypes-<class>.png')
      .argument('<model>', 'ONNX classifier')
      .argument('<data>', 'training dataset (samples predicted as their label are used)')
      .requiredOption('--layer <tensor>', 'layer whose channels are the concepts (see xsys inspect)')
      .option('--prototypes <k>', 'prototypes per class (default: chosen by BIC up to --max-prototypes)')
      .option('--max-prototypes <k>', 'largest number BIC considers', '8')
      .option('--covariance <full|diag>', 'covariance of each prototype', 'full')
      .option('--outlier-quantile <q>', 'training log-likelihood quantile below which a prediction is an outlier', '0.05')
      .option('--reg <r>', 'added to every variance', '1e-6')
      .option('--test <data>', 'assess these samples against the prototypes of their predicted class')
      .option('-c, --composite <name>', 'LRP composite')
      .option('--seed <n>', 'random seed', '0')
      .option('-o, --out <dir>', 'output directory', 'xsys-prototypes'),
  ).action((model: string, data: string, flags: DataFlags & { layer: string; prototypes?: string; maxPrototypes: string; covariance: string; outlierQuantile: string; reg: string; test?: string; composite?: string; seed: string; out: string }) =>
    run(async () => {
      const covariance = choice('--covariance', flags.covariance, ['full', 'diag'] as const);
      const mx = await ModelExplainer.load(model);
      const ds = await loadData(data, flags);
      if (!ds.labels) throw new InvalidArgumentError('--labels', 'prototypes are fitted per class and need labels', 'pass --labels, or use IDX images with their labels file beside them');
      const f = await relevanceFeatures(mx, tensorOf(ds), flags.layer, Array.from(ds.labels), { composite: flags.composite });
      const keep = f.predictions.map((p, i) => (p === ds.labels![i] ? i : -1)).filter((i) => i >= 0);
      const fits = fitPrototypes(subset(f.vectors, keep), keep.map((i) => ds.labels![i]!), {
        prototypes: int('--prototypes', flags.prototypes, 1, 64),
        maxPrototypes: int('--max-prototypes', flags.maxPrototypes, 1, 64),
        covariance,
        outlierQuantile: num('--outlier-quantile', flags.outlierQuantile, 0, 0.99),
        regCovar: num('--reg', flags.reg, 0, 1e3),
        seed: int('--seed', flags.seed, 0),
      });
      await mkdir(flags.out, { recursive: true });
      const [h, w] = f.heatmapDims;
      const files: string[] = [];
      // Indices from fitPrototypes refer to the kept samples.
      const sampleOf = (k: number) => keep[k]!;
      for (const cp of fits) {
        const file = join(flags.out, `prototypes-${cp.classIndex}.png`);
        await writePng(file, heatmapStrip(cp.prototypes.map((p) => f.heatmaps.subarray(sampleOf(p.closest[0]!) * h * w, (sampleOf(p.closest[0]!) + 1) * h * w)), h, w), Math.max(1, Math.floor(112 / Math.max(h, w))));
        files.push(file);
      }
      let assessments: unknown[] | undefined;
      if (flags.test) {
        const tds = await loadData(flags.test, { ...flags, labels: undefined, limit: undefined, offset: undefined });
        const scores = await mx.scores(tensorOf(tds));
        const tn = tds.shape[0]!;
        const k = size(scores.dims) / tn;
        const pred = Array.from({ length: tn }, (_, i) => {
          let best = 0;
          for (let c = 1; c < k; c++) if (scores.data[i * k + c]! > scores.data[i * k + best]!) best = c;
          return best;
        });
        const tf = await relevanceFeatures(mx, tensorOf(tds), flags.layer, pred, { composite: flags.composite });
        assessments = pred.map((cls, i) => {
          const cp = fits.find((c) => c.classIndex === cls);
          if (!cp) return { index: i, name: tds.names[i], predicted: cls, assessed: false };
          const a = assess(cp, subset(tf.vectors, [i]))[0]!;
          return { index: i, name: tds.names[i], predicted: cls, assessed: true, prototype: a.prototype, logLikelihood: a.logLikelihood, outlier: a.outlier, overUsed: a.overUsed, underUsed: a.underUsed };
        });
      }
      files.unshift(
        await writeJson(flags.out, 'prototypes.json', {
          model: { file: model, sha256: await modelId(model) },
          layer: flags.layer,
          data: { source: ds.source, samples: ds.shape[0], used: keep.length },
          covariance,
          classes: fits.map((cp) => ({
            class: cp.classIndex,
            trainCount: cp.trainCount,
            threshold: cp.threshold,
            outlierQuantile: cp.outlierQuantile,
            bic: cp.bic,
            prototypes: cp.prototypes.map((p) => ({ index: p.index, weight: p.weight, size: p.size, mean: p.mean, topConcepts: p.topConcepts.slice(0, 8), closest: p.closest.map((c) => ({ index: sampleOf(c), name: ds.names[sampleOf(c)] })) })),
          })),
          ...(assessments ? { test: { source: flags.test, outliers: assessments.filter((a) => (a as { outlier?: boolean }).outlier).length, samples: assessments } } : {}),
        }),
      );
      process.stdout.write(`${fits.length} classes; prototypes per class: ${fits.map((c) => `${c.classIndex}:${c.model.k}`).join(' ')}\n`);
      if (assessments) process.stdout.write(`${assessments.filter((a) => (a as { outlier?: boolean }).outlier).length} of ${assessments.length} test predictions are outliers\n`);
      process.stdout.write(`wrote ${files.join(', ')}\n`);
      return 0;
    }),
  );

  dataOptions(
    program
      .command('tcav')
      .description('TCAV and α-TCAV: CAVs of a concept (example inputs) against random sets, the class logit\'s sensitivity along them, and a t-test against random CAVs; writes tcav.json (CAVs with provenance) and tcav.png')
      .argument('<model>', 'ONNX classifier')
      .argument('<class-data>', 'inputs of the class whose sensitivity is tested')
      .requiredOption('--class <k>', 'class whose logit is differentiated')
      .requiredOption('--layer <tensor>', 'layer the CAVs live in (see xsys inspect)')
      .requiredOption('--concept <data>', 'inputs showing the concept')
      .requiredOption('--random <data>', 'inputs random counterexample sets are drawn from')
      .option('--cav <method>', `CAV: ${CAV_METHODS.join(', ')}`, 'pattern')
      .option('--C <c>', 'inverse regularisation of the logistic/SVM CAV', '1')
      .option('--reduce <flatten|channels>', 'layer activations flattened, or summed per channel', 'flatten')
      .option('--runs <n>', 'CAVs against fresh random sets (and random CAVs)', '10')
      .option('--random-size <n>', 'size of each random set (default: as many as concept examples)')
      .option('--alpha <a>', "α of α-TCAV's smooth indicator", '10')
      .option('--significance <p>', 'level of the two-sided t-test', '0.05')
      .option('--seed <n>', 'random seed', '0')
      .option('-o, --out <dir>', 'output directory', 'xsys-tcav'),
  ).action((model: string, classData: string, flags: DataFlags & { class: string; layer: string; concept: string; random: string; cav: string; C: string; reduce: string; runs: string; randomSize?: string; alpha: string; significance: string; seed: string; out: string }) =>
    run(async () => {
      const method = choice('--cav', flags.cav, CAV_METHODS) as CavMethod;
      const reduce = choice('--reduce', flags.reduce, ['flatten', 'channels'] as const) as LayerReduce;
      const mx = await ModelExplainer.load(model);
      const cls = int('--class', flags.class, 0)!;
      const plain = { ...flags, labels: undefined, limit: undefined, offset: undefined };
      const [cds, conceptDs, randomDs] = await Promise.all([loadData(classData, flags), loadData(flags.concept, plain), loadData(flags.random, plain)]);
      const concept = await layerActivations(mx, tensorOf(conceptDs), flags.layer, reduce);
      const pool = await layerActivations(mx, tensorOf(randomDs), flags.layer, reduce);
      const grads = await layerGradients(mx, tensorOf(cds), flags.layer, cls, reduce);
      const seed = int('--seed', flags.seed, 0)!;
      const r = tcav(concept, pool, grads, {
        method,
        C: num('--C', flags.C, 1e-6, 1e6),
        runs: int('--runs', flags.runs, 2, 100),
        randomSize: int('--random-size', flags.randomSize, 1, 100_000),
        alpha: num('--alpha', flags.alpha, 0, 1e6),
        significance: num('--significance', flags.significance, 1e-9, 0.5),
        seed,
      });
      await mkdir(flags.out, { recursive: true });
      const sha = await modelId(model);
      const provenance = (run: number, kind: 'concept' | 'random') => ({ model: sha, layer: flags.layer, reduce, concept: kind === 'concept' ? flags.concept : `random subset of ${flags.random}`, random: flags.random, seed, run });
      const json = await writeJson(flags.out, 'tcav.json', {
        model: { file: model, sha256: sha },
        class: cls,
        layer: flags.layer,
        reduce,
        cav: method,
        samples: { class: cds.shape[0], concept: conceptDs.shape[0], random: randomDs.shape[0] },
        tcav: r.tcav,
        random: r.random,
        alphaTcav: r.alphaTcav,
        randomAlpha: r.randomAlpha,
        alpha: r.alpha,
        test: r.test,
        alphaTest: r.alphaTest,
        significant: r.significant,
        significance: r.significance,
        runs: r.runs.map((x, i) => ({ tcav: x.tcav, alphaTcav: x.alphaTcav, accuracy: x.cav.accuracy, provenance: provenance(i, 'concept'), direction: Array.from(x.cav.direction), bias: x.cav.bias })),
        randomRuns: r.randomRuns.map((x, i) => ({ tcav: x.tcav, alphaTcav: x.alphaTcav, accuracy: x.cav.accuracy, provenance: provenance(i, 'random') })),
      });
      // Concept runs on the left, random runs on the right, each dot at its TCAV score.
      const pts = [...r.runs.map((x, i) => [0.25 + 0.1 * ((i % 5) / 4 - 0.5), x.tcav]), ...r.randomRuns.map((x, i) => [0.75 + 0.1 * ((i % 5) / 4 - 0.5), x.tcav])];
      await writePng(join(flags.out, 'tcav.png'), scatterImage(pts.flat(), [...r.runs.map(() => 1), ...r.randomRuns.map(() => 7)], 240, 3));
      process.stdout.write(`class ${cls}: TCAV ${r.tcav.mean.toFixed(3)} ± ${r.tcav.std.toFixed(3)} vs random ${r.random.mean.toFixed(3)} ± ${r.random.std.toFixed(3)}, p = ${r.test.p.toPrecision(3)} (${r.significant ? 'significant' : 'not significant'} at ${r.significance}); α-TCAV (α=${r.alpha}) ${r.alphaTcav.mean.toFixed(3)} vs ${r.randomAlpha.mean.toFixed(3)}, p = ${r.alphaTest.p.toPrecision(3)}\n`);
      process.stdout.write(`wrote ${json}, ${join(flags.out, 'tcav.png')}\n`);
      return 0;
    }),
  );
}
