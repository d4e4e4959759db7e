import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CrpExplainer, type Condition } from '../../src/concepts/crp.js';
import { runCrpConformance } from '../../src/conformance/crp.js';
import type { ConformanceReport } from '../../src/conformance/run.js';
import { readNpy } from '../../src/io/npy-file.js';
import { toFloat32 } from '../../src/io/npy.js';
import type { Composite } from '../../src/composites/index.js';
import { buildModel, floatTensor, int64Tensor, makeNode, valueInfo } from '../helpers/onnx.js';
import { EPS, handModel } from '../helpers/crp.js';

const MANIFEST = 'test/fixtures/crp-conformance/manifest.json';
const FIX = 'test/fixtures/crp-conformance';

describe('crp conformance (zennit-crp CondAttribution, exclude_parallel)', () => {
  let report: ConformanceReport;
  const ids = (JSON.parse(readFileSync(MANIFEST, 'utf8')) as { cases: { id: string }[] }).cases.map((c) => c.id);
  beforeAll(async () => {
    report = await runCrpConformance(MANIFEST);
  });
  it('has the six cases', () => {
    expect(ids).toHaveLength(6);
    expect(report.cases.map((c) => c.id)).toEqual(ids);
  });
  it.each(ids)('%s', (id) => {
    const r = report.cases.find((c) => c.id === id)!;
    expect(r.error).toBeUndefined();
    expect(r.relativeError).toBeLessThanOrEqual(5e-4);
    expect(r.pass).toBe(true);
  });
});

describe('CrpExplainer', () => {
  it('hand values: relevance at h is (10, −1); conditioning on each channel gives (2, 8) and (1, −2), in one run', async () => {
    const ex = await CrpExplainer.load(handModel());
    const r = await ex.explain({ data: Float32Array.of(1, 2), dims: [1, 2] }, [[{ tensor: 'h', channels: [0] }], [{ tensor: 'h', channels: [1] }], [{ tensor: 'h', channels: [0, 1] }]], { target: 2, composite: EPS });
    expect(r.runs).toBe(1);
    expect(r.target).toBe(2);
    const close = (a: ArrayLike<number>, b: number[]) => b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, 5));
    for (const it of r.items) close(it.channelRelevance.h!, [10, -1]);
    close(r.items[0]!.heatmap.data, [2, 8]);
    close(r.items[1]!.heatmap.data, [1, -2]);
    // Both channels kept: plain LRP, conserving the target's logit 9.
    close(r.items[2]!.heatmap.data, [3, 6]);
    expect(r.items[0]!.heatmap.dims).toEqual([1, 2]);
  });

  it('a batch of conditions equals the conditions run one by one (vggish, one and two conditioned layers)', async () => {
    const ex = await CrpExplainer.load(`${FIX}/models/vggish.onnx`);
    const x = await readNpy(`${FIX}/inputs/vggish.npy`);
    const input = { data: toFloat32(x), dims: x.shape };
    const conds: Condition[] = [0, 5, 9, 15].map((c) => [{ tensor: '/3/Conv_output_0', channels: [c] }]);
    const two: Condition[] = [[{ tensor: '/6/Conv_output_0', channels: [2] }, { tensor: '/3/Conv_output_0', channels: [5] }], [{ tensor: '/6/Conv_output_0', channels: [1, 3] }, { tensor: '/3/Conv_output_0', channels: [0, 5, 7] }]];
    const batched = await ex.explain(input, [...conds, ...two], { target: 5 });
    expect(batched.runs).toBe(2);
    for (const [i, c] of [...conds, ...two].entries()) {
      const single = await ex.explain(input, [c], { target: 5 });
      const a = batched.items[i]!;
      const b = single.items[0]!;
      const scale = Math.max(...b.heatmap.data.map(Math.abs));
      expect(scale).toBeGreaterThan(0);
      for (let k = 0; k < a.heatmap.data.length; k++) expect(Math.abs(a.heatmap.data[k]! - b.heatmap.data[k]!)).toBeLessThan(1e-5 * scale);
      for (const t of Object.keys(b.channelRelevance)) expect(Array.from(a.channelRelevance[t]!)).toEqual(Array.from(b.channelRelevance[t]!).map((v, k) => expect.closeTo(v, 5) && a.channelRelevance[t]![k]!));
    }
    // The distinct channels give distinct heatmaps.
    expect(batched.items[0]!.heatmap.data).not.toEqual(batched.items[1]!.heatmap.data);
  });

  it('chunks many conditions into runs of maxPerRun', async () => {
    const ex = await CrpExplainer.load(handModel());
    const conds: Condition[] = Array.from({ length: 5 }, (_, i) => [{ tensor: 'h', channels: [i % 2] }]);
    const r = await ex.explain({ data: Float32Array.of(1, 2), dims: [1, 2] }, conds, { target: 2, composite: EPS, maxPerRun: 2 });
    expect(r.runs).toBe(3);
    expect(r.items[4]!.heatmap.data[1]).toBeCloseTo(8, 5);
    expect(r.items[3]!.heatmap.data[1]).toBeCloseTo(-2, 5);
  });

  describe('bad input', () => {
    let ex: CrpExplainer;
    const x = { data: Float32Array.of(1, 2), dims: [1, 2] };
    beforeAll(async () => {
      ex = await CrpExplainer.load(handModel());
    });
    it('unknown tensor', async () => {
      await expect(ex.explain(x, [[{ tensor: 'nope', channels: [0] }]])).rejects.toThrow(/no tensor named 'nope'/);
    });
    it('channel out of range', async () => {
      await expect(ex.explain(x, [[{ tensor: 'h', channels: [2] }]])).rejects.toThrow(/channel 2 of 'h' is out of range \(it has 2 channels/);
      await expect(ex.explain(x, [[{ tensor: 'h', channels: [-1] }]])).rejects.toThrow(/out of range/);
      await expect(ex.explain(x, [[{ tensor: 'h', channels: [] }]])).rejects.toThrow(/no channels/);
    });
    it('layers in the wrong order', async () => {
      const vgg = await CrpExplainer.load(`${FIX}/models/vggish.onnx`);
      const xv = await readNpy(`${FIX}/inputs/vggish.npy`);
      await expect(vgg.explain({ data: toFloat32(xv), dims: xv.shape }, [[{ tensor: '/3/Conv_output_0', channels: [0] }, { tensor: '/6/Conv_output_0', channels: [0] }]])).rejects.toThrow(/'\/6\/Conv_output_0' does not feed '\/3\/Conv_output_0'/);
    });
    it('a tensor without a channel axis', async () => {
      const m = buildModel({
        nodes: [makeNode('Gemm', ['x', 'W1'], ['h'], 'fc1'), makeNode('ReduceSum', ['h'], ['s'], 'sum', { keepdims: { int: 0 } }), makeNode('Unsqueeze', ['s', 'ax'], ['y'], 'u')],
        initializers: [floatTensor('W1', Float32Array.of(1, -1, 2, 1), [2, 2]), int64Tensor('ax', [0, 1])],
        inputs: [valueInfo('x', [1, 2])],
        outputs: [valueInfo('y', [1, 1])],
      });
      const e2 = await CrpExplainer.load(m);
      await expect(e2.explain(x, [[{ tensor: 's', channels: [0] }]], { target: 0 })).rejects.toThrow(/no channel axis/);
    });
    it('a batch of inputs and no conditions', async () => {
      await expect(ex.explain({ data: Float32Array.of(1, 2, 3, 4), dims: [2, 2] }, [[{ tensor: 'h', channels: [0] }]])).rejects.toThrow(/one input at a time/);
      await expect(ex.explain(x, [])).rejects.toThrow(/no conditions/);
    });
  });
});
