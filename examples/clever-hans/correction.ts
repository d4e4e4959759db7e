/**
 * Reveal to Revise on the Clever-Hans model: the artefact's CAV at conv2 (from MNIST training images the model never
 * saw, indices ≥ 20,000, with and without the square), ClArC inserted into the graph, and the re-evaluation on test
 * images with and without the square. Used by test/correction/clever-hans-correction.test.ts and by
 * scripts/clever-hans-correction.ts (which writes docs/clever-hans/correction.json and the charts).
 */
import { ModelExplainer } from '../../src/methods/explainer.js';
import { readModel } from '../../src/onnx/file.js';
import type { ModelProto } from 'onnx-buf';
import { cavRelevance, fitArtefactCav, maskIou, rankByArtefact, relevanceMasks, type ArtefactCav } from '../../src/correction/localise.js';
import { cavFile, correctModel } from '../../src/correction/correct.js';
import { reevaluate, type Reevaluation, type ReevaluationSets } from '../../src/correction/reevaluate.js';
import { normalizeMnist, pasteArtefact, type ArtefactSpec } from '../../src/strategies/artefact.js';
import type { ClarcMode } from '../../src/weight-surgery/clarc.js';
import { LAYER, MODEL, type Mnist } from './findings.js';

/** The layer TCAV is measured at: conv2's max pooling, downstream of the correction (the same tensor in both models). */
export const TCAV_LAYER = '/MaxPool_1_output_0';

/** Unseen training images (≥ trainImages), excluding the artefact class: with the square (concept) and without. */
export async function artefactCav(mx: ModelExplainer, data: Mnist, spec: ArtefactSpec, count = 200, layer = LAYER): Promise<ArtefactCav> {
  const idx: number[] = [];
  for (let i = spec.trainImages; idx.length < 2 * count; i++) if (data.train.y[i] !== spec.class) idx.push(i);
  const conceptIdx = idx.slice(0, count);
  const cleanIdx = idx.slice(count);
  const concept = normalizeMnist(pasteArtefact(data.train.x, 28, 28, conceptIdx, spec, () => true), count, 28, 28);
  const clean = normalizeMnist(pasteArtefact(data.train.x, 28, 28, cleanIdx, spec, () => false), count, 28, 28);
  return fitArtefactCav(mx, concept, clean, layer, { method: 'pattern' });
}

export function squareRegion(spec: ArtefactSpec, h = 28, w = 28): Uint8Array {
  const r = new Uint8Array(h * w);
  for (let y = spec.row; y < spec.row + spec.size; y++) for (let x = spec.col; x < spec.col + spec.size; x++) r[y * w + x] = 1;
  return r;
}

/** Test images [from, from + count) clean and pasted, with TCAV sets (concept: pasted test images of other classes). */
export function evaluationSets(data: Mnist, spec: ArtefactSpec, from = 0, count = 2000): ReevaluationSets {
  const idx = Array.from({ length: count }, (_, k) => from + k);
  const labels = idx.map((i) => data.test.y[i]!);
  const clean = normalizeMnist(pasteArtefact(data.test.x, 28, 28, idx, spec, () => false), count, 28, 28);
  const pasted = normalizeMnist(pasteArtefact(data.test.x, 28, 28, idx, spec, () => true), count, 28, 28);
  const conceptIdx: number[] = [];
  for (let i = 5000; conceptIdx.length < 60; i++) if (data.test.y[i] !== spec.class) conceptIdx.push(i);
  const poolIdx = Array.from({ length: 300 }, (_, k) => 6000 + k);
  const classIdx: number[] = [];
  for (let i = 7000; classIdx.length < 60; i++) if (data.test.y[i] === spec.class) classIdx.push(i);
  return {
    clean,
    labels,
    pasted,
    region: squareRegion(spec),
    artefactClass: spec.class,
    tcav: {
      concept: normalizeMnist(pasteArtefact(data.test.x, 28, 28, conceptIdx, spec, () => true), 60, 28, 28),
      pool: normalizeMnist(pasteArtefact(data.test.x, 28, 28, poolIdx, spec, () => false), 300, 28, 28),
      classInputs: normalizeMnist(pasteArtefact(data.test.x, 28, 28, classIdx, spec, () => false), 60, 28, 28),
      layer: TCAV_LAYER,
      randomSize: 60,
    },
  };
}

export interface CorrectionRun {
  mode: ClarcMode;
  reactive: boolean;
  corrected: ModelProto;
  result: Reevaluation;
}

export async function correctAndEvaluate(mx: ModelExplainer, model: ModelProto, cav: ArtefactCav, sets: ReevaluationSets, mode: ClarcMode, reactive: boolean): Promise<CorrectionRun> {
  const { model: corrected } = correctModel(model, cavFile(cav), cav.dims, { mode, threshold: reactive ? cav.threshold : undefined });
  const after = await ModelExplainer.load(corrected);
  return { mode, reactive, corrected, result: await reevaluate(mx, after, sets) };
}

export async function loadModel(): Promise<ModelProto> {
  return readModel(MODEL);
}

export interface LocaliseFinding {
  n: number;
  /** How many of the n/2 pasted images are among the n/2 highest artefact scores. */
  pastedRankedFirst: number;
  meanIouPasted: number;
  meanIouClean: number;
  maskThreshold: number;
  scores: Float64Array;
  /** Heatmaps and masks of the 8 highest-ranked images. */
  top: Float32Array[];
  topMasks: Float32Array[];
}

/** CAV-conditioned relevance on `half` test images of other classes with the square and `half` without. */
export async function localiseFinding(model: ModelProto, cav: ArtefactCav, data: Mnist, spec: ArtefactSpec, half = 60, maskThreshold = 0.3): Promise<LocaliseFinding> {
  const idx: number[] = [];
  for (let i = 8000; idx.length < 2 * half; i++) if (data.test.y[i] !== spec.class) idx.push(i);
  const x = normalizeMnist(pasteArtefact(data.test.x, 28, 28, idx, spec, (k) => k < half), 2 * half, 28, 28);
  const rel = await cavRelevance(model, x, cav.layer, cav.cav.direction);
  const masks = relevanceMasks(rel.heatmaps, 2 * half, maskThreshold);
  const iou = maskIou(masks, 2 * half, squareRegion(spec));
  const ranking = rankByArtefact(rel.scores);
  const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
  const top = ranking.slice(0, 8);
  return {
    n: 2 * half,
    pastedRankedFirst: ranking.slice(0, half).filter((i) => i < half).length,
    meanIouPasted: mean(iou.subarray(0, half)),
    meanIouClean: mean(iou.subarray(half)),
    maskThreshold,
    scores: rel.scores,
    top: top.map((i) => rel.heatmaps.slice(i * 784, (i + 1) * 784)),
    topMasks: top.map((i) => Float32Array.from(masks.subarray(i * 784, (i + 1) * 784))),
  };
}
