/**
 * Text models in the service: upload (a token model registers), its tokenizer stored with it, text explained per token
 * exactly as the library does (README's example), image preprocessing stored with a model, and the errors.
 */
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadTokenizer } from '../../src/io/tokens.js';
import { MultiInputExplainer } from '../../src/methods/multi-input.js';
import { toNhwc } from '../../src/services/explain-service.js';
import { preprocessFromShape } from '../../src/services/models.js';
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

  it('channels-last models get an NHWC layout; the transpose is exact', () => {
    expect(preprocessFromShape([1, 32, 32, 3])).toEqual({ size: [32, 32], layout: 'nhwc' });
    expect(preprocessFromShape([1, 3, 32, 32])).toEqual({ size: [32, 32] });
    expect(preprocessFromShape(['N', 1, 28, 28])).toEqual({ size: [28, 28], grayscale: true });
    const t = toNhwc(Float32Array.from([1, 2, 3, 4, 10, 20, 30, 40]), [1, 2, 2, 2]);
    expect(t.dims).toEqual([1, 2, 2, 2]);
    expect(Array.from(t.data)).toEqual([1, 10, 2, 20, 3, 30, 4, 40]);
  });
});
