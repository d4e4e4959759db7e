/**
 * The evaluate and concept-references job kinds as shards, computed in this process with the workers' own functions
 * (no Redis): a single shard reproduces the in-process run exactly; several shards merge to the same outcome whatever
 * order they finish in; concept statistics merged from shards equal one pass over the dataset.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { collectRange, StatisticsEngine, stateToJson } from '../../src/concepts/references.js';
import { buildReferences, readReferenceFile } from '../../src/concepts/store.js';
import { runEvaluation } from '../../src/evaluation/evaluate.js';
import { OrtModel } from '../../src/evaluation/ort-model.js';
import { conceptReferencesWork, referenceSpecOf, shardSource } from '../../src/jobs/concept-references-shards.js';
import type { ConceptReferencesParams } from '../../src/jobs/concept-references.js';
import { evaluateWork, mergeEvaluation, shardSeed } from '../../src/jobs/evaluate-shards.js';
import { gatherDataset, methodSpecOf, outcomeOf, type EvaluateParams, type EvaluationOutcome } from '../../src/jobs/evaluate.js';
import { shardRanges, type ShardDataset, type ShardEnv, type ShardRange } from '../../src/jobs/shardable.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { mulberry32 } from '../../src/seeded-random.js';
import { readModel } from '../../src/onnx/file.js';
import { encodeNpy } from '../../src/io/npy.js';

const MODEL = 'examples/mnist/mnist-cnn.onnx';
const N = 24;
let explainer: ModelExplainer;
let ds: ShardDataset;
const tmp = mkdtempSync(join(tmpdir(), 'xsys-shard-kinds-'));

beforeAll(async () => {
  explainer = await ModelExplainer.load(await readModel(MODEL), { threads: 1 });
  const rand = mulberry32(11);
  const samples = Array.from({ length: N }, () => new Float32Array(784).map(() => rand() * 3 - 0.5));
  ds = { name: 'digits', count: N, sample: (i) => ({ data: samples[i]!, dims: [1, 1, 28, 28] }), label: (i) => i % 10 };
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Artefacts the test's "server" holds, by sha256 (what a worker fetches through /api/artefacts/:sha256). */
const artefacts = new Map<string, Uint8Array>();

function env(items: { n: number }): ShardEnv {
  const artefact = async (sha: string): Promise<Uint8Array> => artefacts.get(sha) ?? Promise.reject(new Error(`no artefact ${sha}`));
  return { model: async () => explainer, dataset: async () => ds, artefact, signal: new AbortController().signal, itemDone: () => void items.n++ };
}

const evalParams: EvaluateParams = {
  modelId: 'f'.repeat(64),
  dataset: 'digits',
  indices: Array.from({ length: 12 }, (_, i) => (i * 5) % N),
  methods: [{ method: 'gradient' }, { method: 'lrp', composite: 'epsilon-plus-flat' }],
  metrics: ['sparseness', 'faithfulness-correlation', 'random-logit'],
  metricParams: { 'faithfulness-correlation': { nrRuns: 5, subsetSize: 28 } },
  target: 'label',
  batchSize: 8,
  seed: 3,
};

describe('evaluate as shards', () => {
  it('one shard over every sample is the in-process evaluation, score for score', async () => {
    const items = { n: 0 };
    const out = await evaluateWork(env(items), evalParams, { index: 0, start: 0, count: evalParams.indices.length });
    expect(items.n).toBe(12);
    const data = gatherDataset('digits', evalParams.indices, ds.sample, ds.label);
    const direct = outcomeOf(
      await runEvaluation({ model: OrtModel.wrap(explainer, { batchSize: 8 }), data, methods: evalParams.methods.map(methodSpecOf), metrics: evalParams.metrics.map((name) => ({ name, params: evalParams.metricParams?.[name] })), target: 'label', batchSize: 8, seed: 3 }),
      evalParams,
    );
    const merged = mergeEvaluation({ ...evalParams, shardSize: 12 }, [out.outcome as EvaluationOutcome]);
    expect(merged.cells).toEqual(direct.cells);
    expect(merged.targets).toEqual(direct.targets);
    expect(merged.accuracy).toBe(direct.accuracy);
    expect(merged.cells.every((c) => c.scores.length === 12)).toBe(true);
    // Real scores, not placeholders: sparseness of a gradient map lies in (0, 1).
    const sparse = merged.cells.find((c) => c.metric === 'sparseness' && c.method === 'gradient')!;
    expect(sparse.mean).toBeGreaterThan(0);
    expect(sparse.mean).toBeLessThan(1);
  });

  it('shards merge in shard order: the outcome does not depend on which shard finished first', async () => {
    const ranges = shardRanges(evalParams.indices.length, 5);
    expect(ranges.map((r) => r.count)).toEqual([5, 5, 2]);
    const outcomes = new Map<number, EvaluationOutcome>();
    // Computed in reverse, as a slow first worker would deliver them.
    for (const r of [...ranges].reverse()) outcomes.set(r.index, (await evaluateWork(env({ n: 0 }), evalParams, r)).outcome as EvaluationOutcome);
    const merged = mergeEvaluation({ ...evalParams, shardSize: 5 }, ranges.map((r) => outcomes.get(r.index)!));
    const again = mergeEvaluation({ ...evalParams, shardSize: 5 }, await Promise.all(ranges.map(async (r) => (await evaluateWork(env({ n: 0 }), evalParams, r)).outcome as EvaluationOutcome)));
    expect(again.cells).toEqual(merged.cells);
    expect(merged.provenance.sharding).toEqual({ shardSize: 5, shards: 3 });
    expect(merged.provenance.seed).toBe(3);
    expect(merged.targets).toEqual(evalParams.indices.map((i) => i % 10));
    for (const c of merged.cells) {
      const parts = ranges.map((r) => outcomes.get(r.index)!.cells.find((x) => x.method === c.method && x.metric === c.metric)!);
      expect(c.scores).toEqual(parts.flatMap((p) => p.scores));
      const defined = c.scores.filter((v): v is number => v !== null);
      expect(c.n).toBe(defined.length);
      expect(c.mean).toBeCloseTo(defined.reduce((a, b) => a + b, 0) / defined.length, 12);
    }
    // Sparseness is per sample, random-free and scale-invariant, so it equals the unsharded scores up to the float32
    // rounding of ORT batches of another composition (measured: ≤ 1e-7).
    const whole = mergeEvaluation({ ...evalParams, shardSize: 12 }, [(await evaluateWork(env({ n: 0 }), evalParams, { index: 0, start: 0, count: 12 })).outcome as EvaluationOutcome]);
    const sparse = (o: EvaluationOutcome) => o.cells.find((c) => c.metric === 'sparseness' && c.method === 'gradient')!.scores as number[];
    sparse(whole).forEach((v, i) => expect(sparse(merged)[i]).toBeCloseTo(v, 5));
    // Random metrics draw from seed + the shard's first position.
    expect(ranges.map((r) => shardSeed(3, r))).toEqual([3, 8, 13]);
  });

  it('threshold masks: a worker derives the in-process masks from the stored normalisation', async () => {
    // Samples are uniform in [−0.5, 2.5); with normalisation mean 0.5, std 0.25 the intensity is 0.5 + x/4, so a
    // threshold of 0.75 keeps the pixels with x > 1 (about half of them).
    const masks = { threshold: 0.75, normalisation: { mean: [0.5], std: [0.25] } };
    const p: EvaluateParams = { ...evalParams, metrics: ['pointing-game', 'attribution-localisation'], metricParams: undefined, masks };
    const out = await evaluateWork(env({ n: 0 }), p, { index: 0, start: 0, count: 12 });
    const data = gatherDataset('digits', p.indices, ds.sample, ds.label);
    data.masks = data.x.map((v) => (0.5 + v * 0.25 > 0.75 ? 1 : 0));
    const direct = outcomeOf(await runEvaluation({ model: OrtModel.wrap(explainer, { batchSize: 8 }), data, methods: p.methods.map(methodSpecOf), metrics: p.metrics.map((name) => ({ name })), target: 'label', batchSize: 8, seed: 3 }), p);
    expect((out.outcome as EvaluationOutcome).cells).toEqual(direct.cells);
    expect(direct.cells.every((c) => c.n === 12)).toBe(true);
    expect((out.outcome as EvaluationOutcome).provenance.masks).toEqual(masks);
  });

  it.each([
    ['one per evaluated sample, in order', 12],
    ['one per dataset sample, by index', N],
  ] as const)('uploaded masks (%s): shards of 5 read their rows of the fetched file and merge to the in-process outcome', async (_name, rows) => {
    // Mask r: a 6×6 block whose corner moves with r, so every row differs and a wrong row changes the scores.
    const values = new Float32Array(rows * 784);
    for (let r = 0; r < rows; r++) for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) values[r * 784 + (2 + (r % 20) + y) * 28 + 3 + ((r * 7) % 19) + x] = 1;
    const bytes = encodeNpy(values, [rows, 28, 28]);
    const sha = createHash('sha256').update(bytes).digest('hex');
    artefacts.set(sha, bytes);
    const p: EvaluateParams = { ...evalParams, metrics: ['pointing-game', 'attribution-localisation'], metricParams: undefined, masks: { artefact: sha, shape: [rows, 28, 28] } };
    const ranges = shardRanges(p.indices.length, 5);
    const merged = mergeEvaluation({ ...p, shardSize: 5 }, await Promise.all(ranges.map(async (r) => (await evaluateWork(env({ n: 0 }), p, r)).outcome as EvaluationOutcome)));
    // In-process, shard by shard: each sample's mask picked by hand (dataset index, or position among the 12).
    const direct = await Promise.all(ranges.map(async (r) => {
      const idx = p.indices.slice(r.start, r.start + r.count);
      const d = gatherDataset('digits', idx, ds.sample, ds.label);
      const masks = new Float32Array(idx.length * 784);
      idx.forEach((i, k) => {
        const row = rows === N ? i : r.start + k;
        masks.set(values.subarray(row * 784, (row + 1) * 784), k * 784);
      });
      d.masks = masks;
      return outcomeOf(await runEvaluation({ model: OrtModel.wrap(explainer, { batchSize: 8 }), data: d, methods: p.methods.map(methodSpecOf), metrics: p.metrics.map((name) => ({ name })), target: 'label', batchSize: 8, seed: shardSeed(3, r) }), { ...p, indices: idx, seed: shardSeed(3, r) });
    }));
    expect(merged.cells).toEqual(mergeEvaluation({ ...p, shardSize: 5 }, direct).cells);
    expect(merged.cells.every((c) => c.n === 12)).toBe(true);
    // A file that does not hold as many masks as the dataset or the evaluated samples is refused with both counts.
    const bad = encodeNpy(new Float32Array(5 * 784).fill(1), [5, 28, 28]);
    const badSha = createHash('sha256').update(bad).digest('hex');
    artefacts.set(badSha, bad);
    await expect(evaluateWork(env({ n: 0 }), { ...p, masks: { artefact: badSha, shape: [5, 28, 28] } }, ranges[0]!)).rejects.toThrow(/holds 5 masks; dataset 'digits' has 24 samples and 12 are evaluated/);
  });

  it('a cancelled job stops its shard', async () => {
    const ac = new AbortController();
    ac.abort(new Error('job cancelled'));
    await expect(evaluateWork({ ...env({ n: 0 }), signal: ac.signal }, evalParams, { index: 0, start: 0, count: 4 })).rejects.toThrow(/cancelled/);
  });
});

describe('concept-references as shards', () => {
  const p: ConceptReferencesParams = { modelId: 'f'.repeat(64), dataset: 'digits', layers: [], k: 4, composite: 'epsilon-plus-flat', targets: 'label', referenceSet: 'x' };

  it('statistics merged from shards equal one in-process build over the same chunks', async () => {
    const { channelLayers } = await import('../../src/concepts/layers.js');
    const layers = channelLayers(explainer.model).slice(0, 2).map((l) => l.tensor);
    expect(layers.length).toBe(2);
    const params = { ...p, layers };
    const ranges: ShardRange[] = shardRanges(N, 8);
    const parts = [];
    const items = { n: 0 };
    for (const r of ranges) parts.push((await conceptReferencesWork({ ...env(items), threads: 1 }, params, r)).outcome!);
    expect(items.n).toBe(N);
    const { mergeStates, stateFromJson } = await import('../../src/concepts/references.js');
    const merged = stateToJson(mergeStates(parts.map((o) => stateFromJson(o as never))));
    const path = join(tmp, 'refs.json');
    await buildReferences({ model: explainer.model, source: shardSource(ds), spec: referenceSpecOf(params), path, chunk: 8, threads: 1, modelSha256: p.modelId });
    const file = await readReferenceFile(path);
    expect(merged).toEqual(file.state);
    expect(merged.ranges).toEqual([[0, N]]);
    // Each class of the labels 0…9 appears: per-class counts add up to the dataset.
    expect(Object.values(merged.classCount).reduce((a, b) => a + b, 0)).toBe(N);
    // A shard covers exactly its range.
    const engine = await StatisticsEngine.create(explainer.model, referenceSpecOf(params), 1);
    const one = stateToJson(await collectRange(engine, shardSource(ds), referenceSpecOf(params), 8, 16));
    expect(parts[1]).toEqual(one);
  });
});
