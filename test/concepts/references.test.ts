import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TopK } from '../../src/concepts/topk.js';
import { collectRange, mergeStates, stateToJson, StatisticsEngine, type ReferenceSpec } from '../../src/concepts/references.js';
import { arraySource } from '../../src/concepts/sources.js';
import { buildReferences, loadReferences, sha256Of } from '../../src/concepts/store.js';
import { classAtlas, compareAtlases, cropReferences, referenceSamples, relevanceBox } from '../../src/concepts/atlas.js';
import { CrpExplainer } from '../../src/concepts/crp.js';
import { compareTopK, runCrpReferencesConformance } from '../../src/conformance/crp-references.js';
import { readModel } from '../../src/onnx/file.js';
import { readNpy } from '../../src/io/npy-file.js';
import { toFloat32 } from '../../src/io/npy.js';
import { serializeModel } from '../../src/onnx/model.js';
import type { ModelProto } from 'onnx-buf';

const RS = 'test/fixtures/crp-conformance/reference-samples';
const LAYER = '/3/Conv_output_0';
const LAYER6 = '/6/Conv_output_0';
let tmp: string;
let model: ModelProto;
let data: Float32Array;
let shape: number[];
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'xsys-refs-'));
  model = await readModel(`${RS}/models/vggish.onnx`);
  const a = await readNpy(`${RS}/data/vggish.npy`);
  data = toFloat32(a);
  shape = a.shape;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const spec: ReferenceSpec = { layers: [LAYER, LAYER6], k: 5, composite: 'epsilon-plus-flat', targets: 'prediction', absNorm: true };

describe('TopK', () => {
  it('keeps the k best by value, ties by lower index, whatever the order offered', () => {
    const entries: [number, number, number][] = [[0.5, 3, 1], [0.9, 7, 2], [0.5, 1, 3], [0.1, 0, 0], [0.7, 4, 5], [0.5, 2, 9]];
    const a = new TopK(3, 1);
    for (const [v, i, p] of entries) a.offer(0, v, i, p);
    const b = new TopK(3, 1);
    for (const [v, i, p] of [...entries].reverse()) b.offer(0, v, i, p);
    expect(a.list(0)).toEqual([[0.9, 7, 2], [0.7, 4, 5], [0.5, 1, 3]]);
    expect(b.list(0)).toEqual(a.list(0));
    const c = new TopK(3, 1);
    c.offer(0, 0.8, 9, 0);
    expect(c.merge(a).list(0).map((e) => e[1])).toEqual([7, 9, 4]);
    expect(TopK.fromJSON(a.toJSON()).list(0)).toEqual(a.list(0));
  });
});

describe('reference statistics', () => {
  it('match zennit-crp FeatureVisualization (6/6 cases)', async () => {
    const r = await runCrpReferencesConformance(`${RS}/manifest.json`);
    expect(r.cases.map((c) => [c.id, c.error])).toEqual(r.cases.map((c) => [c.id, undefined]));
    expect(r.passed).toBe(6);
    for (const c of r.cases) expect(c.relativeError).toBeLessThan(5e-4);
  });

  it('compareTopK fails a wrong sample outside a tie', () => {
    const t = new TopK(2, 1);
    t.offer(0, 1, 5, 0);
    t.offer(0, 0.5, 6, 0);
    expect(compareTopK(t, [5, 6], [1, 0.5], 2, 5e-4)).toBe(0);
    expect(compareTopK(t, [5, 7], [1, 0.5], 2, 5e-4)).toBe(Infinity);
    expect(compareTopK(t, [5, 6], [1, 0.4], 2, 5e-4)).toBeCloseTo(0.1, 6);
  });

  it('sharded ranges merge to exactly the one-pass state (per-index work + deterministic merge)', async () => {
    const engine = await StatisticsEngine.create(model, spec);
    const src = arraySource(data, shape);
    const whole = await collectRange(engine, src, spec, 0, 48, { batch: 16 });
    const parts = await Promise.all([[30, 48], [0, 13], [13, 30]].map(([s, e]) => collectRange(engine, src, spec, s!, e!, { batch: 7 })));
    const merged = mergeStates(parts);
    expect(merged.ranges).toEqual([[0, 48]]);
    const j1 = stateToJson(whole);
    const j2 = stateToJson(merged);
    expect(j2.layers[LAYER]!.relSum).toEqual(j1.layers[LAYER]!.relSum);
    expect(j2.layers[LAYER6]!.actMax).toEqual(j1.layers[LAYER6]!.actMax);
    expect(j2.classCount).toEqual(j1.classCount);
    for (const [cls, v] of Object.entries(j1.layers[LAYER]!.classSum)) v.forEach((x, c) => expect(j2.layers[LAYER]!.classSum[cls]![c]).toBeCloseTo(x, 12));
    expect(Object.values(j1.classCount).reduce((a, b) => a + b, 0)).toBe(48);
    expect(() => mergeStates([parts[0]!, parts[0]!])).toThrow(/overlapping/);
    // The statistics are what they claim: the top relevance sample's value is its normalised channel relevance.
    const [best] = referenceSamples(whole, LAYER, 5, { n: 1 });
    const crp = await CrpExplainer.load(model);
    const { conceptRelevance } = await import('../../src/concepts/relevance.js');
    const cr = await conceptRelevance(crp, src.batch(best!.index, 1), LAYER);
    const abs = cr.vector.reduce((s, v) => s + Math.abs(v), 0);
    expect(best!.value).toBeCloseTo(cr.vector[5]! / (abs + 1e-10), 5);
  });

  it('builds a store with provenance, resumes after a cancel to the same result, and refuses another model', async () => {
    const src = arraySource(data, shape);
    const full = join(tmp, 'full.json');
    const a = await buildReferences({ model, source: src, spec, path: full, chunk: 20, batch: 8 });
    expect(a.complete).toBe(true);
    expect(a.processed).toBe(48);
    expect(a.provenance.model.sha256).toBe(sha256Of(serializeModel(model)));
    const part = join(tmp, 'part.json');
    const ctl = new AbortController();
    await expect(buildReferences({ model, source: src, spec, path: part, chunk: 20, batch: 8, signal: ctl.signal, onProgress: (d) => d >= 20 && ctl.abort() })).rejects.toThrow(/cancelled/);
    const saved = JSON.parse(readFileSync(part, 'utf8')) as { processed: number; complete: boolean };
    expect(saved.processed).toBe(20);
    expect(saved.complete).toBe(false);
    let resumedFrom = -1;
    const b = await buildReferences({ model, source: src, spec, path: part, chunk: 20, batch: 8, onProgress: (d) => resumedFrom < 0 && (resumedFrom = d) });
    expect(resumedFrom).toBe(20);
    for (const l of [LAYER, LAYER6]) for (const k of ['actMax', 'actSum', 'relSum', 'relByClass', 'classSum', 'channels'] as const) expect([l, k, b.state.layers[l]![k]]).toEqual([l, k, a.state.layers[l]![k]]);
    // Another model (one weight changed): refused on resume and on load.
    const other = await readModel(`${RS}/models/vggish.onnx`);
    other.graph!.initializer[0]!.rawData[0]! ^= 1;
    await expect(buildReferences({ model: other, source: src, spec, path: full })).rejects.toThrow(/different model \(hash mismatch/);
    await expect(loadReferences(full, { modelSha256: sha256Of(serializeModel(other)) })).rejects.toThrow(/hash mismatch/);
    const loaded = await loadReferences(full, { modelSha256: a.provenance.model.sha256 });
    expect(referenceSamples(loaded.state, LAYER, 0, { n: 3 })).toHaveLength(3);
  });

  it('bad input leaves nothing written', async () => {
    const src = arraySource(data, shape);
    const p = join(tmp, 'bad.json');
    await expect(buildReferences({ model, source: arraySource(new Float32Array(0), [0, 3, 32, 32]), spec, path: p })).rejects.toThrow(/empty/);
    await expect(buildReferences({ model, source: src, spec: { ...spec, layers: ['nope'] }, path: p })).rejects.toThrow(/no tensor named 'nope'/);
    await expect(buildReferences({ model, source: src, spec: { ...spec, k: 0 }, path: p })).rejects.toThrow(/k: must be/);
    await expect(buildReferences({ model, source: src, spec: { ...spec, targets: 'label' }, path: p })).rejects.toThrow(/no labels/);
    expect(existsSync(p)).toBe(false);
  });
});

describe('atlas and crops', () => {
  it('class atlas ranks channels by mean relevance for the class; comparing two classes; crops box the concept', async () => {
    // The random-weight model predicts one class for everything: use labels (three classes) as targets.
    const src = arraySource(data, shape, Int32Array.from({ length: 48 }, (_, i) => i % 3));
    const labelled: ReferenceSpec = { ...spec, targets: 'label' };
    const engine = await StatisticsEngine.create(model, labelled);
    const state = await collectRange(engine, src, labelled, 0, 48);
    expect([...state.classCount.values()]).toEqual([16, 16, 16]);
    const classes = [...state.classCount.entries()].sort((a, b) => b[1] - a[1]).map(([c]) => c);
    const cls = classes[0]!;
    const atlas = classAtlas(state, LAYER, cls, { top: 4, refs: 3 });
    expect(atlas.samples).toBe(state.classCount.get(cls));
    const L = state.layers[LAYER]!;
    const means = Array.from(L.classSum.get(cls)!, (v) => v / atlas.samples);
    expect(atlas.concepts[0]!.meanRelevance).toBeCloseTo(Math.max(...means), 12);
    for (let i = 1; i < atlas.concepts.length; i++) expect(atlas.concepts[i]!.meanRelevance).toBeLessThanOrEqual(atlas.concepts[i - 1]!.meanRelevance);
    expect(atlas.concepts[0]!.references.length).toBeGreaterThan(0);
    const cmp = compareAtlases(state, LAYER, cls, classes[1]!, { top: 4 });
    expect(cmp.shared.length + cmp.onlyA.length).toBe(4);
    expect(Math.abs(cmp.differences[0]!.difference)).toBeGreaterThanOrEqual(Math.abs(cmp.differences[1]!.difference));
    expect(() => classAtlas(state, LAYER, 999)).toThrow(/no sample/);

    const crp = await CrpExplainer.load(model);
    const refs = atlas.concepts[0]!.references;
    const crops = await cropReferences(crp, src, refs, refs.map(() => cls), LAYER, atlas.concepts[0]!.channel);
    expect(crops).toHaveLength(refs.length);
    for (const c of crops) {
      const [y0, x0, y1, x1] = c.box;
      expect(y1).toBeGreaterThan(y0);
      expect(x1).toBeGreaterThan(x0);
      expect(c.heatmap.dims).toEqual([1, 3, 32, 32]);
    }
    // The batched crop heatmap equals the single-input CRP heatmap for the same condition and target.
    const single = await crp.explain(src.batch(refs[0]!.index, 1), [[{ tensor: LAYER, channels: [atlas.concepts[0]!.channel] }]], { target: cls });
    single.items[0]!.heatmap.data.forEach((v, i) => expect(crops[0]!.heatmap.data[i]).toBeCloseTo(v, 5));
  });

  it('relevanceBox: hand values', () => {
    // 1 × 3 × 4 plane: positive relevance at (1, 1) = 1.0 and (2, 3) = 0.5; (0, 0) = 0.05 below 10 %.
    const h = new Float32Array(12);
    h[1 * 4 + 1] = 1;
    h[2 * 4 + 3] = 0.5;
    h[0] = 0.05;
    expect(relevanceBox(h, [1, 1, 3, 4], 0.1)).toEqual([1, 1, 3, 4]);
    expect(relevanceBox(h, [1, 1, 3, 4], 0.6)).toEqual([1, 1, 2, 2]);
    expect(relevanceBox(new Float32Array(12).fill(-1), [1, 1, 3, 4])).toEqual([0, 0, 3, 4]);
  });
});
