/**
 * Text models in the service: upload (a token model registers), its tokenizer stored with it, text explained per token
 * exactly as the library does (README's example), image preprocessing stored with a model, and the errors.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadTokenizer } from '../../src/io/tokens.js';
import { MultiInputExplainer } from '../../src/methods/multi-input.js';
import { toNhwc } from '../../src/io/layout.js';
import { preprocessFromShape } from '../../src/services/models.js';
import { encodeNpy, parseNpy } from '../../src/io/npy.js';
import { serializeModel } from '../../src/onnx/model.js';
import { buildModel, makeNode, valueInfo } from '../helpers/onnx.js';
import { bundledModelId, startBench, violations, type TestBench } from './helpers.js';

const TEXT_MODEL = 'examples/transformers/text-classifier.onnx';
const TOKENIZER = 'examples/transformers/tokenizer.json';
const SENTENCE = 'the acting was not good but the story was really wonderful .';

let wb: TestBench;
let textId: string;
let components: Record<string, Record<string, unknown>>;
const post = (url: string, payload: unknown) => wb.app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> });

beforeAll(async () => {
  wb = await startBench();
  components = (await wb.app.inject({ url: '/openapi.json' })).json().components.schemas;
  const up = await wb.app.inject({ method: 'POST', url: '/api/models?name=text-classifier.onnx', headers: { 'content-type': 'application/octet-stream' }, payload: readFileSync(TEXT_MODEL) });
  expect(up.statusCode).toBe(201);
  textId = up.json().id;
});
afterAll(async () => wb.dispose());

describe('text models', () => {
  it('register, describe their int64 inputs, and need a tokenizer before text', async () => {
    const m = (await wb.app.inject({ url: `/api/models/${textId}` })).json();
    expect(m.inputs.map((i: { name: string; dtype: string }) => `${i.name}:${i.dtype}`)).toEqual(['input_ids:int64', 'attention_mask:int64']);
    expect(m.nodes.length).toBeGreaterThan(0);
    const res = await post('/api/explain-text', { modelId: textId, text: SENTENCE, method: 'lrp' });
    expect(res.statusCode).toBe(409);
    expect(res.json().hint).toMatch(/tokenizer\.json/);
    const bad = await post(`/api/models/${textId}/tokenizer`, { version: '1.0' });
    expect(bad.statusCode).toBe(400);
  });

  it('explain text per token as the library does, with AttnLRP by default (README: “wonderful” for, “not” against)', async () => {
    const tok = await post(`/api/models/${textId}/tokenizer`, JSON.parse(readFileSync(TOKENIZER, 'utf8')));
    expect(tok.statusCode).toBe(200);
    expect(tok.json().tokenizer).toMatch(/^[0-9a-f]{64}$/);
    const res = await post('/api/explain-text', { modelId: textId, text: SENTENCE, method: 'lrp' });
    expect(res.statusCode).toBe(200);
    const r = res.json();
    expect(violations({ $ref: 'ModelSummary' }, tok.json(), components)).toEqual([]);
    expect(r).toMatchObject({ method: 'lrp', composite: 'attnlrp', params: { epsilon: 1e-10 }, target: 1, tokenInput: 'input_ids' });
    expect(r.tokens.map((t: { token: string }) => t.token)).toEqual(['[CLS]', 'the', 'acting', 'was', 'not', 'good', 'but', 'the', 'story', 'was', 'really', 'wonderful', '.', '[SEP]']);
    const by = Object.fromEntries(r.tokens.map((t: { token: string; relevance: number }) => [t.token, t.relevance]));
    expect(by.wonderful).toBeCloseTo(2.11, 1);
    expect(by.not).toBeCloseTo(-1.13, 1);
    // The same numbers as the library's MultiInputExplainer on the same ids.
    const t = await loadTokenizer(TOKENIZER);
    const enc = t.encode(SENTENCE);
    const mx = await MultiInputExplainer.load(TEXT_MODEL);
    const ids = BigInt64Array.from(enc.ids, (v) => BigInt(v));
    const e = await mx.explain({ input_ids: { dtype: 'int64', data: ids, dims: [1, ids.length] }, attention_mask: { dtype: 'int64', data: new BigInt64Array(ids.length).fill(1n), dims: [1, ids.length] } }, { method: 'lrp', composite: 'attnlrp' });
    expect(r.tokens.map((x: { relevance: number }) => x.relevance)).toEqual(Array.from(e.tokenRelevance!.data));
    expect(r.topk[0].class).toBe(1);
    expect(r.provenance).toMatchObject({ modelSha256: textId, tokenizerSha256: tok.json().tokenizer, text: SENTENCE });
  });

  it('gradient × input and parameters; bad requests answer with the field', async () => {
    const g = (await post('/api/explain-text', { modelId: textId, text: SENTENCE, method: 'gradient-x-input', target: 0 })).json();
    expect(g).toMatchObject({ method: 'gradient-x-input', composite: null, target: 0 });
    const eps = (await post('/api/explain-text', { modelId: textId, text: SENTENCE, method: 'lrp', params: { epsilon: 0.01 } })).json();
    expect(eps.params).toEqual({ epsilon: 0.01 });
    const occl = await post('/api/explain-text', { modelId: textId, text: SENTENCE, method: 'occlusion' });
    expect(occl.statusCode).toBe(400);
    const range = await post('/api/explain-text', { modelId: textId, text: SENTENCE, method: 'lrp', target: 5 });
    expect(range.statusCode).toBe(400);
    expect(`${range.json().detail} ${range.json().hint ?? ''}`).not.toMatch(/--/);
    expect((await post('/api/explain-text', { modelId: textId, text: '', method: 'lrp' })).statusCode).toBe(400);
  });
});

describe('models with several inputs', () => {
  const npy = (data: ArrayLike<number>, shape: number[]) => Buffer.from(encodeNpy(Float32Array.from(data), shape)).toString('base64');

  it('explain one .npy per input: attributions per input with their numbers, stored as artefacts', async () => {
    // y = a + b: class t's score is a_t + b_t, so gradient × input gives a_t to a and b_t to b at t, zero elsewhere,
    // and LRP-ε splits y_t by the contributions (identical for this linear model).
    const two = buildModel({ nodes: [makeNode('Add', ['a', 'b'], ['y'], 'add')], inputs: [valueInfo('a', [1, 4]), valueInfo('b', [1, 4])], outputs: [valueInfo('y', [1, 4])] });
    const up = await wb.app.inject({ method: 'POST', url: '/api/models?name=two-inputs.onnx', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from(serializeModel(two)) });
    expect(up.statusCode).toBe(201);
    const id = up.json().id as string;
    const inputs = { a: { npy: npy([1, 2, 3, 4], [1, 4]), name: 'a.npy' }, b: { npy: npy([4, 3, 2, 1], [4]) } };
    for (const method of ['gradient-x-input', 'lrp']) {
      const res = await post('/api/explain-inputs', { modelId: id, inputs, method, target: 2 });
      expect(res.statusCode, res.body).toBe(200);
      const r = res.json();
      expect(r).toMatchObject({ method, target: 2, topk: expect.any(Array) });
      const by = Object.fromEntries(r.attributions.map((x: { input: string }) => [x.input, x]));
      expect(Object.keys(by).sort()).toEqual(['a', 'b']);
      const values = async (sha: string) => Array.from(parseNpy(new Uint8Array((await wb.app.inject({ url: `/api/artefacts/${sha}` })).rawPayload)).data as Float32Array);
      const a = await values(by.a.attribution);
      const b = await values(by.b.attribution);
      for (const [got, want] of [[a, [0, 0, 3, 0]], [b, [0, 0, 2, 0]]] as const) for (let i = 0; i < 4; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
      expect(r.relevanceSum).toBeCloseTo(5, 5);
      expect(r.provenance.inputs.a).toMatchObject({ name: 'a.npy', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    }
    // Every input is needed; unknown names and batches are refused with the field.
    const missing = await post('/api/explain-inputs', { modelId: id, inputs: { a: inputs.a }, method: 'gradient' });
    expect(missing.statusCode).toBe(400);
    expect(`${missing.json().detail} ${missing.json().hint}`).toMatch(/input 'b' \(float32\) is missing .*give every input: a, b/);
    expect(`${missing.json().detail} ${missing.json().hint}`).not.toMatch(/--/);
    const unknown = await post('/api/explain-inputs', { modelId: id, inputs: { ...inputs, c: inputs.a }, method: 'gradient' });
    expect(unknown.json()).toMatchObject({ status: 400, field: 'inputs.c' });
    const batch = await post('/api/explain-inputs', { modelId: id, inputs: { ...inputs, a: { npy: npy(new Array(8).fill(1), [2, 4]) } }, method: 'gradient' });
    expect(batch.json()).toMatchObject({ status: 400, field: 'inputs.a', detail: expect.stringMatching(/batch of 2/) });
    // Only the one-pass methods run on several inputs: refused by the request schema, naming the field.
    expect((await post('/api/explain-inputs', { modelId: id, inputs, method: 'occlusion' })).json()).toMatchObject({ status: 400, detail: expect.stringMatching(/method/) });
  });

  it('a token model through its inputs gives the same relevance per token as the text route', async () => {
    const t = await loadTokenizer(TOKENIZER);
    const ids = t.encode(SENTENCE).ids;
    const i64 = (v: number[]) => Buffer.from(encodeNpy(BigInt64Array.from(v, (x) => BigInt(x)), [1, v.length], 'int64')).toString('base64');
    const r = (await post('/api/explain-inputs', { modelId: textId, inputs: { input_ids: { npy: i64(ids) }, attention_mask: { npy: i64(ids.map(() => 1)) } }, method: 'lrp' })).json();
    const text = (await post('/api/explain-text', { modelId: textId, text: SENTENCE, method: 'lrp' })).json();
    expect(r.composite).toBe('attnlrp');
    expect(r.tokens.input).toBe('input_ids');
    expect(r.tokens.relevance).toEqual(text.tokens.map((x: { relevance: number }) => x.relevance));
  });
});

describe('preprocessing stored with a model', () => {
  it('is applied to uploads; validated', async () => {
    const id = await bundledModelId(wb);
    const png = readFileSync('examples/mnist/samples/digit-7-idx0.png').toString('base64');
    const before = (await post('/api/explain', { modelId: id, input: { kind: 'image', png }, method: 'gradient' })).json();
    const set = await post(`/api/models/${id}/preprocess`, { size: [28, 28], grayscale: true, mean: [0.5], std: [0.5] });
    expect(set.statusCode).toBe(200);
    expect(set.json().preprocess).toEqual({ size: [28, 28], grayscale: true, mean: [0.5], std: [0.5] });
    const after = (await post('/api/explain', { modelId: id, input: { kind: 'image', png }, method: 'gradient' })).json();
    expect(after.inputId).not.toBe(before.inputId); // another normalisation: another tensor
    expect((await post(`/api/models/${id}/preprocess`, { std: [0] })).statusCode).toBe(400);
    expect((await post(`/api/models/${id}/preprocess`, { layout: 'chw' })).statusCode).toBe(400);
    expect((await post(`/api/models/${'0'.repeat(64)}/preprocess`, {})).statusCode).toBe(404);
  });

  it('a channels-last model (torch export taking [1, 12, 16, 3]): uploads are transposed, the heatmap is 12×16 (not a sliver)', async () => {
    const up = await wb.app.inject({ method: 'POST', url: '/api/models?name=nhwc-cnn.onnx', headers: { 'content-type': 'application/octet-stream' }, payload: readFileSync('test/fixtures/inputs/nhwc-cnn.onnx') });
    expect(up.statusCode).toBe(201);
    expect(up.json().preprocess).toEqual({ size: [12, 16], layout: 'nhwc' });
    const raw = Buffer.alloc(16 * 12 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) % 251;
    const png = (await sharp(raw, { raw: { width: 16, height: 12, channels: 3 } }).png().toBuffer()).toString('base64');
    const r = (await post('/api/explain', { modelId: up.json().id, input: { kind: 'image', png }, method: 'gradient' })).json();
    const attribution = parseNpy(new Uint8Array((await wb.app.inject({ url: `/api/artefacts/${r.artefacts.attribution}` })).rawPayload), 'a');
    expect(attribution.shape).toEqual([1, 12, 16, 3]);
    const heat = await sharp((await wb.app.inject({ url: `/api/artefacts/${r.artefacts.heatmap}` })).rawPayload).metadata();
    const k = heat.width! / 16;
    expect(Number.isInteger(k)).toBe(true);
    expect([heat.width, heat.height]).toEqual([16 * k, 12 * k]);
  });

  it('channels-last models get an NHWC layout; the transpose is exact', () => {
    expect(preprocessFromShape([1, 32, 32, 3])).toEqual({ size: [32, 32], layout: 'nhwc' });
    expect(preprocessFromShape([1, 3, 32, 32])).toEqual({ size: [32, 32] });
    expect(preprocessFromShape(['N', 1, 28, 28])).toEqual({ size: [28, 28], grayscale: true });
    const t = toNhwc(Float32Array.from([1, 2, 3, 4, 10, 20, 30, 40]), [1, 2, 2, 2]);
    expect(t.dims).toEqual([1, 2, 2, 2]);
    expect(Array.from(t.data)).toEqual([1, 10, 2, 20, 3, 30, 4, 40]);
  });
});
