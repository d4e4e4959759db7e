import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelProto } from 'onnx-buf';
import { LensSpace, labelComponents, search } from '../../src/lens/search.js';
import { auditClass } from '../../src/lens/audit.js';
import { pure } from '../../src/lens/pure.js';
import { steerModel } from '../../src/lens/steer.js';
import { conceptRelevance } from '../../src/concepts/relevance.js';
import { CrpExplainer } from '../../src/concepts/crp.js';
import { buildReferences } from '../../src/concepts/store.js';
import { stateFromJson } from '../../src/concepts/references.js';
import { cloneModel } from '../../src/onnx/model.js';
import { floatTensor } from '../../src/onnx/tensor.js';
import { makeNode } from '../../src/onnx/attributes.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { argmaxRows } from '../../src/runtime/tensor.js';
import { bundledExample, type Example } from './fixture.js';

let tmp: string;
let ex: Example;
let space: LensSpace;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'xsys-lens-aps-'));
  ex = await bundledExample(tmp);
  const neutral = await ex.foundation.embedTexts(ex.foundation.spec.neutralPrompts);
  space = LensSpace.fromIndex(ex.index, { data: neutral, n: ex.foundation.spec.neutralPrompts.length });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const FC1 = '/fc1/Gemm_output_0';

describe('audit', () => {
  it("splits class 7's relevance at fc1 over its labels: the groups sum to the class's relevance, computed again by CRP per sample", async () => {
    const vocabulary = ['seven', 'one', 'a loop'];
    const labels = labelComponents(space, vocabulary, await ex.foundation.embedTexts(vocabulary), { threshold: 0.3 });
    const report = auditClass(ex.state, labels, { layer: FC1, cls: 7, should: ['seven'], shouldNot: ['a loop', 'one'] });
    const sumGroups = report.groups.reduce((a, g) => a + g.relevance, 0);
    expect(sumGroups).toBeCloseTo(report.total, 6);
    expect(report.groups.reduce((a, g) => a + g.share, 0)).toBeCloseTo(1, 10);
    expect(report.groups.flatMap((g) => g.components).length).toBe(64);
    // Independently: the class's samples (explained as 7) through CRP, each channel's relevance normalised per sample
    // as the references were (abs_norm), summed; then grouped by the same labels.
    const scores = await ex.crp.base.scores({ data: ex.ds.x, dims: ex.ds.shape });
    const preds = argmaxRows(scores.data, 1000);
    const sevens = preds.flatMap((p, i) => (p === 7 ? [i] : []));
    expect(report.samples).toBe(sevens.length);
    const perChannel = new Float64Array(64);
    for (const i of sevens) {
      const r = await conceptRelevance(ex.crp, ex.source.batch(i, 1), FC1, { target: 7, composite: 'epsilon-plus-flat' });
      let abs = 0;
      for (const v of r.vector) abs += Math.abs(v);
      r.vector.forEach((v, c) => (perChannel[c]! += v / (abs + 1e-10)));
    }
    for (const g of report.groups) {
      const expected = g.components.reduce((a, c) => a + perChannel[c.channel]!, 0);
      expect(g.relevance).toBeCloseTo(expected, 3);
    }
    // The valid concept carries a real share of a 7's relevance; the spurious ones name their components and samples.
    expect(report.validShare).toBeGreaterThan(0.1);
    const seven = report.groups.find((g) => g.concept === 'seven')!;
    expect(seven.components.every((c) => labels.find((l) => l.layer === FC1 && l.channel === c.channel)!.label === 'seven')).toBe(true);
    for (const s of report.spurious) expect(s.samples.length).toBeGreaterThan(0);
    expect(() => auditClass(ex.state, labels, { layer: FC1, cls: 7, should: ['seven'], shouldNot: ['seven'] })).toThrow(/twice/);
  });
});

/**
 * The MNIST CNN with one constructed polysemantic unit: after the logits z, h = Relu([z₃ − z₇, z₇ − z₃]) (a 3-vs-7
 * and a 7-vs-3 detector, never both active), then a layer `poly` whose unit 0 is a·h₀ + b·h₁ (a, b put each
 * detector's 20th highest value over the data at 1, so both classes reach the unit's top samples) and whose unit 1
 * is a constant 0.5; the output is `poly` (through an identity layer). Unit 0 fires for 3s and for 7s, through
 * different fc1 features (those of w₃ − w₇ and of w₇ − w₃).
 */
async function polysemanticModel(model: ModelProto): Promise<ModelProto> {
  const scores = await ex.crp.base.scores({ data: ex.ds.x, dims: ex.ds.shape });
  const nth = (f: (i: number) => number) => Array.from({ length: 1000 }, (_, i) => f(i)).sort((a, b) => b - a)[19]!;
  const m3 = nth((i) => scores.data[i * 10 + 3]! - scores.data[i * 10 + 7]!);
  const m7 = nth((i) => scores.data[i * 10 + 7]! - scores.data[i * 10 + 3]!);
  const copy = cloneModel(model);
  const g = copy.graph!;
  const fc2 = g.node.find((n) => n.output[0] === 'logits')!;
  fc2.output[0] = 'z';
  const a = new Float32Array(20);
  a[3] = 1;
  a[7] = -1;
  a[10 + 7] = 1;
  a[10 + 3] = -1;
  g.initializer.push(
    floatTensor('diff.weight', a, [2, 10]),
    floatTensor('diff.bias', new Float32Array(2), [2]),
    floatTensor('poly.weight', Float32Array.from([1 / m3, 1 / m7, 0, 0]), [2, 2]),
    floatTensor('poly.bias', Float32Array.from([0, 0.5]), [2]),
    floatTensor('out.weight', Float32Array.from([1, 0, 0, 1]), [2, 2]),
    floatTensor('out.bias', new Float32Array(2), [2]),
  );
  const gemm = (x: string, w: string, y: string) => makeNode('Gemm', [x, `${w}.weight`, `${w}.bias`], [y], w, { transB: { int: 1 } });
  g.node.push(gemm('z', 'diff', 'd'), makeNode('Relu', ['d'], ['h'], 'h'), gemm('h', 'poly', 'poly'), gemm('poly', 'out', 'logits'));
  g.output[0]!.type!.value.value.shape!.dim[1]!.value = { case: 'dimValue', value: 2n };
  return copy;
}

describe('PURE', () => {
  it('splits a constructed unit responding to 3s and 7s into the two groups, and the split is clearer', async () => {
    const model = await polysemanticModel(ex.model);
    const refs = await buildReferences({ model, source: ex.source, spec: { layers: ['poly', FC1], k: 16, composite: 'epsilon-plus-flat', targets: 'prediction', absNorm: false }, path: join(tmp, 'poly-refs.json'), restart: true });
    const state = stateFromJson(refs.state);
    const crp = await CrpExplainer.load(model);
    const r = await pure({ crp, source: ex.source, picture: ex.picture, foundation: ex.foundation, state, layer: 'poly', channel: 0, lower: FC1, samples: 16, stat: 'activation-max', kMax: 4, composite: 'epsilon-plus-flat' });
    const digit = (s: { index: number }) => ex.ds.labels![s.index]!;
    expect(r.silhouette).toBeGreaterThan(0.5);
    const threes = r.samples.filter((s) => digit(s) === 3);
    const sevens = r.samples.filter((s) => digit(s) === 7);
    // The construction works: the unit's top samples are 3s and 7s, both well represented.
    expect(threes.length + sevens.length).toBe(16);
    expect(Math.min(threes.length, sevens.length)).toBeGreaterThanOrEqual(4);
    expect(r.k).toBe(2);
    expect(new Set(threes.map((s) => s.cluster)).size).toBe(1);
    expect(new Set(sevens.map((s) => s.cluster)).size).toBe(1);
    expect(threes[0]!.cluster).not.toBe(sevens[0]!.cluster);
    expect(r.clusters.map((c) => c.size).sort()).toEqual([threes.length, sevens.length].sort());
    expect(r.splitClarity).toBeGreaterThan(r.clarity);
    expect(r.clearer).toBe(true);
    // Each virtual component embeds near its digit's name.
    const zt = await ex.foundation.embedTexts(['three', 'seven']);
    for (const c of r.clusters) {
      const s3 = c.embedding.reduce((a, v, j) => a + v * zt[j]!, 0);
      const s7 = c.embedding.reduce((a, v, j) => a + v * zt[32 + j]!, 0);
      const isThree = digit(r.samples[c.members[0]!]!) === 3;
      expect(isThree ? s3 > s7 : s7 > s3).toBe(true);
    }
  });
});

describe('activation steering', () => {
  it('compiles a Mul into the graph: factor 1 changes nothing; suppressing the components found by "seven" removes 7s', async () => {
    const hits = search(space, await ex.foundation.embedTexts(['seven']), { top: 10, layers: [FC1], calibrate: true });
    const sevenChannels = hits.map((h) => h.channel);
    const x = { data: ex.ds.x.subarray(0, 500 * 784), dims: [500, 1, 28, 28] };
    const before = argmaxRows((await ex.crp.base.scores(x)).data, 500);
    const same = steerModel(ex.model, [{ layer: FC1, channels: sevenChannels, factor: 1 }]);
    expect(same.graph!.node.filter((n) => n.opType === 'Mul')).toHaveLength(1);
    const sameScores = await (await ModelExplainer.load(same)).scores(x);
    expect(Array.from(sameScores.data)).toEqual(Array.from((await ex.crp.base.scores(x)).data));
    const off = await ModelExplainer.load(steerModel(ex.model, [{ layer: FC1, channels: sevenChannels, factor: 0 }]));
    const after = argmaxRows((await off.scores(x)).data, 500);
    const labelsOf = Array.from(ex.ds.labels!.subarray(0, 500));
    const acc = (p: number[], keep: (l: number) => boolean) => {
      const idx = labelsOf.flatMap((l, i) => (keep(l) ? [i] : []));
      return idx.filter((i) => p[i] === labelsOf[i]).length / idx.length;
    };
    expect(acc(before, (l) => l === 7)).toBeGreaterThan(0.9);
    expect(acc(after, (l) => l === 7)).toBeLessThan(acc(before, (l) => l === 7) - 0.3);
    expect(acc(after, (l) => l !== 7)).toBeGreaterThan(acc(before, (l) => l !== 7) - 0.05);
    // Amplified ×3, the same components make more digits sevens.
    const up = argmaxRows((await (await ModelExplainer.load(steerModel(ex.model, [{ layer: FC1, channels: sevenChannels, factor: 3 }]))).scores(x)).data, 500);
    expect(up.filter((p) => p === 7).length).toBeGreaterThan(before.filter((p) => p === 7).length + 5);
    // The steered activations are the layer's times the factor, and LRP runs on the steered model.
    const steered = await off.forwardTensor({ data: x.data.subarray(0, 784), dims: [1, 1, 28, 28] }, `${FC1}_xsys_steered`);
    for (const c of sevenChannels) expect(steered.data[c]).toBe(0);
    expect(() => steerModel(ex.model, [{ layer: 'logits', channels: [0], factor: 0 }])).toThrow(/model output/);
    expect(() => steerModel(ex.model, [{ layer: FC1, channels: [64], factor: 0 }])).toThrow(/out of range/);
  });
});
