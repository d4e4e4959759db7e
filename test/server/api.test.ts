/** API tests: the real service (Fastify inject) on a real SQLite store in a temp dir. */
import { readdirSync, readFileSync } from 'node:fs';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeNpy, parseNpy, toFloat32 } from '../../src/io/npy.js';
import { explain } from '../../src/methods/explain.js';
import { attributionToHeatmap } from '../../src/render/heatmap.js';
import { encodePng } from '../../src/render/png.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { serializeModel } from '../../src/onnx/model.js';
import { sha256Hex } from '../../src/store/artefact-files.js';
import { buildModel, makeNode, valueInfo } from '../helpers/onnx.js';
import { bundledModelId, startBench, violations, type TestBench } from './helpers.js';

const MNIST = 'examples/mnist/mnist-cnn.onnx';
const MLP = 'test/fixtures/conformance/models/mlp.onnx';
const VGGISH = 'test/fixtures/conformance/models/vggish.onnx';
const LABELS = JSON.parse(readFileSync('examples/mnist/labels.json', 'utf8')) as number[];

let wb: TestBench;
let modelId: string;
let components: Record<string, Record<string, unknown>>;

beforeAll(async () => {
  wb = await startBench();
  modelId = await bundledModelId(wb);
  const doc = (await wb.app.inject({ url: '/openapi.json' })).json();
  components = doc.components.schemas;
});
afterAll(async () => wb.dispose());

const post = (url: string, payload: unknown) => wb.app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> });
const sample = (index: number) => ({ kind: 'sample', dataset: 'mnist-samples', index });
const npyOf = (body: Buffer | Uint8Array) => {
  const a = parseNpy(new Uint8Array(body));
  return { data: toFloat32(a), dims: a.shape };
};
function expectProblem(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, detail?: RegExp) {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const p = res.json() as { status: number; title: string; detail: string; type: string };
  expect(p.status).toBe(status);
  expect(p.title).toBeTruthy();
  if (detail) expect(p.detail).toMatch(detail);
  return p;
}

describe('parameters, deduplication, deletion, web wording', () => {
  it('publishes method and composite parameters with defaults, ranges and descriptions', async () => {
    const res = await wb.app.inject({ url: '/api/methods' });
    expect(res.statusCode).toBe(200);
    const { methods, composites } = res.json();
    const ig = methods.find((m: { name: string }) => m.name === 'integrated-gradients');
    expect(ig.params).toEqual([
      { name: 'steps', type: 'integer', default: 20, min: 1, max: 512, description: expect.any(String) },
      { name: 'baseline', type: 'number', default: 0, min: -1e6, max: 1e6, description: expect.any(String) },
    ]);
    expect(ig).toMatchObject({ onePass: false, device: false });
    expect(methods.find((m: { name: string }) => m.name === 'lrp')).toMatchObject({ onePass: true, device: true, params: [] });
    expect(methods.find((m: { name: string }) => m.name === 'grad-cam').params.map((p: { name: string }) => p.name)).toEqual(['layer']);
    const box = composites.find((c: { name: string }) => c.name === 'epsilon-gamma-box');
    expect(box.params.find((p: { name: string }) => p.name === 'gamma')).toMatchObject({ default: 0.25, type: 'number' });
    expect(box.params.find((p: { name: string }) => p.name === 'low')).not.toHaveProperty('default'); // from the input's range
    expect(composites.find((c: { name: string }) => c.name === 'attnlrp').family).toBe('transformer');
    expect(composites.find((c: { name: string }) => c.name === 'epsilon-plus').family).toBe('any');
  });

  it('the same explanation asked twice is one record with a count; spelled-out defaults are the same request', async () => {
    const a = (await post('/api/explain', { modelId, input: sample(2), method: 'smoothgrad', params: { samples: 3 } })).json();
    expect(a.count).toBe(1);
    const b = (await post('/api/explain', { modelId, input: sample(2), method: 'smoothgrad', params: { samples: 3, noiseLevel: 0.1, seed: 0 } })).json();
    expect(b.id).toBe(a.id);
    expect(b.count).toBe(2);
    expect(b.lastAt).toBeDefined();
    expect(violations({ $ref: 'ResultRecord' }, b, components)).toEqual([]);
    const c = (await post('/api/explain', { modelId, input: sample(2), method: 'smoothgrad', params: { samples: 4 } })).json();
    expect(c.id).not.toBe(a.id);
    expect(a.provenance.inputSource).toEqual({ kind: 'sample', dataset: 'mnist-samples', index: 2 });
    const list = (await wb.app.inject({ url: `/api/results?limit=500` })).json() as { id: string; count: number }[];
    expect(list.filter((r) => r.id === a.id)).toEqual([expect.objectContaining({ count: 2 })]);
    // Delete: gone from History, a second delete is 404.
    expect((await wb.app.inject({ method: 'DELETE', url: `/api/results/${c.id}` })).statusCode).toBe(204);
    expectProblem(await wb.app.inject({ url: `/api/results/${c.id}` }), 404);
    expectProblem(await wb.app.inject({ method: 'DELETE', url: `/api/results/${c.id}` }), 404);
  });

  it('grad-cam records the layer it used; an uploaded file keeps its name', async () => {
    const r = (await post('/api/explain', { modelId, input: sample(1), method: 'grad-cam' })).json();
    expect(typeof r.params.layer).toBe('string');
    expect(r.params.layer.length).toBeGreaterThan(0);
    const png = readFileSync('examples/mnist/samples/' + readdirSync('examples/mnist/samples').sort()[0]).toString('base64');
    const up = (await post('/api/explain', { modelId, input: { kind: 'image', png, name: 'my-digit.png' }, method: 'gradient' })).json();
    expect(up.provenance.inputSource).toEqual({ kind: 'image', name: 'my-digit.png' });
  });

  it('bad parameters are refused with the form field, never a CLI flag', async () => {
    const res = await post('/api/explain', { modelId, input: sample(0), method: 'integrated-gradients', params: { steps: 100000 } });
    // Over the server's limit: 422 (the operator may raise it), named by the form's field, with no CLI flag.
    const p = expectProblem(res, 422, /integrated-gradients steps: 100000 exceeds the limit of 512/) as { field?: string; hint?: string };
    expect(p.field).toBe('params.steps');
    expect(p.hint).toMatch(/operator can raise the limit 'integrated-gradients\.steps'/);
    expect(p.hint).not.toMatch(/--/);
    const below = expectProblem(await post('/api/explain', { modelId, input: sample(0), method: 'integrated-gradients', params: { steps: 0 } }), 400) as { field?: string; detail: string };
    expect(below.field).toBe('params.steps');
    expect(below.detail).not.toMatch(/--/);
    expectProblem(await post('/api/explain', { modelId, input: sample(0), method: 'occlusion', params: { window: 2.5 } }), 400, /whole number/);
    const t = expectProblem(await post('/api/explain', { modelId, input: sample(0), method: 'lrp', target: 12 }), 400, /out of range/) as { detail: string; field?: string; hint?: string };
    expect(t.field).toBe('target');
    expect(`${t.detail} ${t.hint ?? ''}`).not.toMatch(/--/);
  });
});

describe('service basics', () => {
  it('health reports versions; openapi describes every route', async () => {
    const h = (await wb.app.inject({ url: '/api/health' })).json();
    expect(h).toMatchObject({ ok: true, version: '0.1.0', ortVersion: expect.stringMatching(/^1\.\d+\.\d+$/) });
    const doc = (await wb.app.inject({ url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    for (const p of ['/api/models', '/api/models/{id}', '/api/models/{id}/file', '/api/datasets', '/api/datasets/{name}/samples/{index}', '/api/explain', '/api/compare', '/api/results', '/api/results/{id}', '/api/results/{id}/reproduce', '/api/artefacts/{sha256}', '/api/jobs', '/api/jobs/{id}', '/api/jobs/{id}/events']) {
      expect(doc.paths[p], p).toBeDefined();
    }
    expect(Object.keys(doc.paths['/api/models'])).toEqual(['get', 'post']);
    expect(doc.paths['/api/explain'].post.requestBody.content['application/json'].schema.required).toEqual(['modelId', 'input', 'method']);
    const jobBody = doc.paths['/api/jobs'].post.requestBody.content['application/json'].schema;
    expect(jobBody.oneOf.map((k: { properties: { kind: { const: string } } }) => k.properties.kind.const)).toEqual(['explain-dataset', 'evaluate', 'spray', 'pcx', 'tcav', 'correction', 'concept-references', 'lens-embed']);
    expect(jobBody.oneOf[0].required).toEqual(['kind', 'modelId', 'dataset', 'method']);
  });

  it('unknown routes and bad ids are problem+json, and the server keeps serving', async () => {
    expectProblem(await wb.app.inject({ url: '/api/nothing' }), 404);
    expectProblem(await wb.app.inject({ url: '/api/models/not-a-hash' }), 400, /pattern/);
    expectProblem(await wb.app.inject({ url: `/api/models/${'0'.repeat(64)}` }), 404, /no model/);
    expectProblem(await wb.app.inject({ url: '/api/artefacts/..%2F..%2Fetc%2Fpasswd' }), 400);
    expectProblem(await wb.app.inject({ url: `/api/artefacts/${'0'.repeat(64)}` }), 404);
    expectProblem(await wb.app.inject({ url: '/api/datasets/..%2F..%2Fetc/samples/0' }), 400);
    expectProblem(await wb.app.inject({ url: '/api/datasets/mnist-samples/samples/8' }), 404, /0–7/);
    expectProblem(await wb.app.inject({ method: 'POST', url: '/api/explain', headers: { 'content-type': 'application/json' }, payload: '{not json' }), 400);
    expect((await wb.app.inject({ url: '/api/health' })).statusCode).toBe(200);
  });
});

describe('models', () => {
  it('registers the bundled example with its preprocessing and serves its bytes', async () => {
    const list = (await wb.app.inject({ url: '/api/models' })).json();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: 'mnist-cnn.onnx', opset: 13, preprocess: { size: [28, 28], grayscale: true, mean: [0.1307], std: [0.3081] } });
    expect(list[0].inputs[0]).toEqual({ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] });
    expect(violations({ $ref: 'ModelSummary' }, list[0], components)).toEqual([]);
    const file = await wb.app.inject({ url: `/api/models/${modelId}/file` });
    expect(sha256Hex(file.rawPayload)).toBe(modelId);
    expect(modelId).toBe(sha256Hex(readFileSync(MNIST)));
  });

  it('describes nodes, rules and the op histogram under a composite', async () => {
    const d = (await wb.app.inject({ url: `/api/models/${modelId}?composite=epsilon-gamma-box` })).json();
    expect(violations({ $ref: 'ModelDetail' }, d, components)).toEqual([]);
    expect(d.opHistogram).toEqual({ Conv: 2, Relu: 3, MaxPool: 2, Flatten: 1, Gemm: 2 });
    expect(d.unsupported).toEqual([]);
    const first = d.nodes.find((n: { opType: string }) => n.opType === 'Conv');
    expect(first.rule).toMatch(/^zbox/i);
    expect(d.nodes.filter((n: { opType: string }) => n.opType === 'Gemm').every((n: { rule: string }) => /^epsilon/i.test(n.rule))).toBe(true);
    expectProblem(await wb.app.inject({ url: `/api/models/${modelId}?composite=/etc/x.json` }), 400);
  });

  it('uploads: 201 then 200 for the same bytes; concurrent uploads make one record', async () => {
    const bytes = readFileSync(MLP);
    const up = () => wb.app.inject({ method: 'POST', url: '/api/models?name=mlp.onnx', headers: { 'content-type': 'application/octet-stream' }, payload: bytes });
    const first = await up();
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ id: sha256Hex(bytes), name: 'mlp.onnx', bytes: bytes.length, inputs: [{ name: 'input', shape: ['batch', 16] }] });
    expect((await up()).statusCode).toBe(200);

    const vgg = readFileSync(VGGISH);
    const many = await Promise.all(Array.from({ length: 6 }, () => wb.app.inject({ method: 'POST', url: '/api/models?name=v.onnx', headers: { 'content-type': 'application/octet-stream' }, payload: vgg })));
    expect(many.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    const ids = (await wb.app.inject({ url: '/api/models' })).json().map((m: { id: string }) => m.id);
    expect(ids.filter((id: string) => id === sha256Hex(vgg))).toHaveLength(1);
  });

  it('rejects corrupt and unusable uploads with the reason, storing nothing', async () => {
    const before = (await wb.app.inject({ url: '/api/models' })).json().length;
    const upload = (payload: Buffer | Uint8Array, type = 'application/octet-stream') => wb.app.inject({ method: 'POST', url: '/api/models?name=bad.onnx', headers: { 'content-type': type }, payload: Buffer.from(payload) });
    expectProblem(await upload(Buffer.from('definitely not protobuf \u0000\u0001\u0002')), 400, /bad\.onnx/);
    expectProblem(await upload(readFileSync(MLP).subarray(0, 3000)), 400, /truncated|not a valid ONNX/);
    expectProblem(await upload(new Uint8Array(0)), 400);
    // Valid ONNX that xsys cannot explain: an integer input that is no token-embedding lookup, and no float input.
    const ids = valueInfo('ids', [1, 4]);
    if (ids.type?.value.case === 'tensorType') ids.type.value.value.elemType = 7;
    const intOnly = buildModel({ nodes: [makeNode('Cast', ['ids'], ['y'], 'cast', { to: { int: 1 } })], inputs: [ids], outputs: [valueInfo('y', [1, 4])] });
    expectProblem(await upload(serializeModel(intOnly)), 422, /float32 input/);
    expectProblem(await upload(readFileSync(MLP), 'text/plain'), 415);
    expect((await wb.app.inject({ url: '/api/models' })).json()).toHaveLength(before);
  });

  it('refuses a body over the upload limit with 413', async () => {
    const small = await startBench({ maxUploadBytes: 4096, bundledExample: false });
    try {
      const res = await small.app.inject({ method: 'POST', url: '/api/models', headers: { 'content-type': 'application/octet-stream' }, payload: readFileSync(MLP) });
      expectProblem(res, 413);
      expect((await small.app.inject({ url: '/api/models' })).json()).toEqual([]);
      const big = await small.app.inject({ method: 'POST', url: '/api/explain', payload: { modelId: '0'.repeat(64), method: 'lrp', input: { kind: 'image', png: 'A'.repeat(10_000) } } });
      expectProblem(big, 413);
    } finally {
      await small.dispose();
    }
  });
});

describe('explain', () => {
  it('explains a dataset sample exactly as the library does, with artefacts and provenance', async () => {
    const res = await post('/api/explain', { modelId, input: sample(2), method: 'lrp', composite: 'epsilon-plus-flat' });
    expect(res.statusCode).toBe(200);
    const r = res.json();
    expect(violations({ $ref: 'ResultRecord' }, r, components)).toEqual([]);
    expect(r.target).toBe(LABELS[2]);
    expect(r.topk[0].class).toBe(LABELS[2]);
    expect(r.topk[0].prob).toBeGreaterThan(0.5);
    expect(r.topk.map((t: { score: number }) => t.score)).toEqual([...r.topk.map((t: { score: number }) => t.score)].sort((a: number, b: number) => b - a));
    expect(r.provenance).toMatchObject({ modelSha256: modelId, inputSha256: r.inputId, method: 'lrp', composite: 'epsilon-plus-flat', target: 'pred', xsysVersion: '0.1.0' });
    expect(r.provenance.timingMs.total).toBeGreaterThan(0);

    const input = npyOf((await wb.app.inject({ url: `/api/artefacts/${r.artefacts.input}` })).rawPayload);
    const samples = parseNpy(new Uint8Array(readFileSync('examples/mnist/samples.npy')));
    expect(Array.from(input.data)).toEqual(Array.from(toFloat32(samples).subarray(2 * 784, 3 * 784)));
    expect(sha256Hex(encodeNpy(input.data, input.dims))).toBe(r.inputId);

    const attrRes = await wb.app.inject({ url: `/api/artefacts/${r.artefacts.attribution}` });
    expect(attrRes.headers['content-type']).toBe('application/x-npy');
    const attr = npyOf(attrRes.rawPayload);
    const direct = await explain(await ModelExplainer.load(MNIST), { data: input.data, dims: [1, 1, 28, 28] }, { method: 'lrp', composite: 'epsilon-plus-flat' });
    expect(attr.dims).toEqual([1, 1, 28, 28]);
    let maxDiff = 0;
    for (let i = 0; i < 784; i++) maxDiff = Math.max(maxDiff, Math.abs(attr.data[i]! - direct.attribution.data[i]!));
    expect(maxDiff).toBeLessThan(1e-6);
    expect(r.relevanceSum).toBeCloseTo(attr.data.reduce((a, b) => a + b, 0), 4);

    const heat = await wb.app.inject({ url: `/api/artefacts/${r.artefacts.heatmap}` });
    expect(heat.headers['content-type']).toBe('image/png');
    expect(heat.headers['x-content-type-options']).toBe('nosniff');
    const meta = await sharp(heat.rawPayload).metadata();
    expect([meta.width, meta.height]).toEqual([224, 224]);
    // The same pixels as the library's (and the CLI's) heatmap PNG of this attribution.
    const expected = await encodePng(attributionToHeatmap(attr.data, [1, 28, 28], { cmap: 'bwr' }), 8);
    const raw = async (png: Uint8Array) => sharp(png).removeAlpha().raw().toBuffer();
    expect((await raw(heat.rawPayload)).equals(await raw(expected))).toBe(true);
    const recoloured = await wb.app.inject({ url: `/api/artefacts/${r.artefacts.attribution}?cmap=coldnhot` });
    expect(recoloured.headers['content-type']).toBe('image/png');
    expect(Buffer.compare(recoloured.rawPayload, heat.rawPayload)).not.toBe(0);
    expectProblem(await wb.app.inject({ url: `/api/artefacts/${r.artefacts.heatmap}?cmap=coldnhot` }), 400, /only \.npy/);
    expect((await wb.app.inject({ url: `/api/artefacts/${r.artefacts.display}` })).rawPayload.equals(readFileSync('examples/mnist/samples/digit-2-idx1.png'))).toBe(true);
    expect((await wb.app.inject({ url: `/api/results/${r.id}` })).json()).toEqual({ ...r });
  });

  it('explains an uploaded image with the model default preprocessing, and an uploaded .npy', async () => {
    const png = readFileSync('examples/mnist/samples/digit-7-idx0.png').toString('base64');
    const viaImage = (await post('/api/explain', { modelId, input: { kind: 'image', png }, method: 'gradient' })).json();
    expect(viaImage.target).toBe(7);
    expect(viaImage.composite).toBeNull();
    // The upload itself is kept for provenance as opaque bytes, never served as an image type.
    const inputRecord = await wb.store.inputs.get(viaImage.inputId);
    expect(inputRecord!.source).toMatchObject({ kind: 'image', preprocess: { size: [28, 28], grayscale: true, mean: [0.1307], std: [0.3081] } });
    const original = await wb.app.inject({ url: `/api/artefacts/${(inputRecord!.source as { imageSha256: string }).imageSha256}` });
    expect(original.headers['content-type']).toBe('application/octet-stream');
    expect(original.rawPayload.toString('base64')).toBe(png);
    const viaSample = (await post('/api/explain', { modelId, input: sample(6), method: 'gradient' })).json();
    const a = npyOf((await wb.app.inject({ url: `/api/artefacts/${viaImage.artefacts.input}` })).rawPayload).data;
    const b = npyOf((await wb.app.inject({ url: `/api/artefacts/${viaSample.artefacts.input}` })).rawPayload).data;
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
    expect(d).toBeLessThan(1e-5); // PNG → tensor in the service equals the dataset's preprocessed sample

    const npy = Buffer.from(encodeNpy(b, [1, 28, 28])).toString('base64'); // no batch axis: added
    const viaNpy = (await post('/api/explain', { modelId, input: { kind: 'npy', npy }, method: 'gradient', target: 3 })).json();
    expect(viaNpy.target).toBe(3);
    expect(viaNpy.provenance.target).toBe(3);
    expect(viaNpy.inputId).toBe(viaSample.inputId);
    expect(viaNpy.artefacts.heatmap).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects bad inputs with the reason', async () => {
    const bad = (input: unknown, extra: Record<string, unknown> = {}) => post('/api/explain', { modelId, input, method: 'lrp', ...extra });
    expectProblem(await bad({ kind: 'npy', npy: Buffer.from(encodeNpy(new Float32Array(10), [1, 10])).toString('base64') }), 422, /expects \[/);
    const nan = new Float32Array(784);
    nan[5] = Number.NaN;
    expectProblem(await bad({ kind: 'npy', npy: Buffer.from(encodeNpy(nan, [1, 1, 28, 28])).toString('base64') }), 422, /non-finite/);
    expectProblem(await bad({ kind: 'npy', npy: Buffer.from('garbage').toString('base64') }), 400, /not a \.npy/);
    expectProblem(await bad({ kind: 'image', png: Buffer.from('not an image').toString('base64') }), 400, /cannot decode image/);
    expectProblem(await bad({ kind: 'image', png: '%%%' }), 400, /base64/);
    expectProblem(await bad(sample(0), { method: 'magic' }), 400, /allowed values/);
    expectProblem(await bad(sample(0), { target: 10 }), 400, /out of range/);
    expectProblem(await bad(sample(0), { params: { epsilon: 'lots' } }), 400, /not a number/);
    expectProblem(await bad(sample(0), { params: { nonsense: 1 } }), 400);
    expectProblem(await bad(sample(0), { modelId: 'f'.repeat(64) }), 404);
    expectProblem(await bad({ kind: 'sample', dataset: 'mnist-samples', index: 99 }), 404);
    expect((await post('/api/explain', { modelId, input: sample(0), method: 'lrp' })).statusCode).toBe(200);
  });

  it('compares methods on one input', async () => {
    const res = await post('/api/compare', { modelId, input: sample(4), methods: [{ method: 'lrp', composite: 'epsilon-gamma-box', params: { gamma: 0.5 } }, { method: 'gradient-x-input' }, { method: 'smoothgrad', params: { samples: 4 } }] });
    expect(res.statusCode).toBe(200);
    const { results } = res.json();
    expect(results.map((r: { method: string }) => r.method)).toEqual(['lrp', 'gradient-x-input', 'smoothgrad']);
    expect(new Set(results.map((r: { inputId: string }) => r.inputId)).size).toBe(1);
    expect(results[0].params).toEqual({ epsilon: 1e-6, gamma: 0.5, stabilizer: 1e-6 }); // every parameter, defaults filled in
    expect(results[2].provenance.params).toEqual({ noiseLevel: 0.1, samples: 4, seed: 0 });
    expect(new Set(results.map((r: { artefacts: { attribution: string } }) => r.artefacts.attribution)).size).toBe(3);
    expect(results.every((r: { target: number }) => r.target === LABELS[4])).toBe(true);
  });

  it('history is newest first, filterable and paged', async () => {
    const all = (await wb.app.inject({ url: `/api/results?modelId=${modelId}&limit=500` })).json();
    expect(all.length).toBeGreaterThanOrEqual(8);
    const ids = all.map((r: { id: string }) => r.id);
    expect(ids).toEqual([...ids].sort().reverse());
    const page = (await wb.app.inject({ url: `/api/results?before=${ids[1]}&limit=2` })).json();
    expect(page.map((r: { id: string }) => r.id)).toEqual(ids.slice(2, 4));
    expect((await wb.app.inject({ url: `/api/results?modelId=${'e'.repeat(64)}` })).json()).toEqual([]);
  });

  it('reproduces a result from its record', async () => {
    const r = (await post('/api/explain', { modelId, input: sample(5), method: 'integrated-gradients', params: { steps: 8 } })).json();
    const rep = await post(`/api/results/${r.id}/reproduce`, {});
    expect(rep.statusCode).toBe(200);
    const body = rep.json();
    expect(violations({ $ref: 'Reproduction' }, body, components)).toEqual([]);
    expect(body).toMatchObject({ resultId: r.id, maxAbsDiff: 0, maxRelDiff: 0, identical: true });
    const again = (await wb.app.inject({ url: `/api/results/${body.reproducedId}` })).json();
    expect(again.provenance.reproducedFrom).toBe(r.id);
    expect(again.params).toEqual({ baseline: 0, steps: 8 });
    expect(r.provenance.params).toEqual({ baseline: 0, steps: 8 });
    // Reproducing again with the same numbers counts on the first reproduction.
    const twice = (await post(`/api/results/${r.id}/reproduce`, {})).json();
    expect(twice.reproducedId).toBe(body.reproducedId);
    expect((await wb.app.inject({ url: `/api/results/${body.reproducedId}` })).json().count).toBe(2);
    expectProblem(await post(`/api/results/${'0'.repeat(26)}/reproduce`, {}), 404);
  });

  it('deleting a model keeps its results; reproducing them says why it cannot', async () => {
    const bytes = readFileSync(MLP);
    const up = await wb.app.inject({ method: 'POST', url: '/api/models?name=mlp.onnx', headers: { 'content-type': 'application/octet-stream' }, payload: bytes });
    const id = up.json().id;
    const x = Buffer.from(encodeNpy(new Float32Array(16).fill(0.5), [1, 16])).toString('base64');
    const r = (await post('/api/explain', { modelId: id, input: { kind: 'npy', npy: x }, method: 'lrp' })).json();
    expect(r.artefacts.heatmap).toBeNull(); // a vector input has no picture
    expect((await wb.app.inject({ method: 'DELETE', url: `/api/models/${id}` })).statusCode).toBe(204);
    expectProblem(await wb.app.inject({ url: `/api/models/${id}` }), 404);
    expectProblem(await wb.app.inject({ method: 'DELETE', url: `/api/models/${id}` }), 404);
    expect((await wb.app.inject({ url: `/api/results/${r.id}` })).statusCode).toBe(200);
    expectProblem(await post(`/api/results/${r.id}/reproduce`, {}), 409, /deleted/);
  });

  it('a full disk answers 507 and stores nothing; the service recovers when space is back', async () => {
    let full = false;
    const { nodeFileOps } = await import('../../src/store/artefact-files.js');
    const fb = await startBench({
      fileOps: {
        ...nodeFileOps,
        writeFile: async (p, b) => {
          if (full) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
          return nodeFileOps.writeFile(p, b);
        },
      },
    });
    try {
      const id = await bundledModelId(fb);
      full = true;
      const res = await fb.app.inject({ method: 'POST', url: '/api/explain', payload: { modelId: id, input: sample(1), method: 'gradient' } });
      expectProblem(res, 507, /no space left/);
      expect((await fb.app.inject({ url: '/api/results' })).json()).toEqual([]);
      full = false;
      expect((await fb.app.inject({ method: 'POST', url: '/api/explain', payload: { modelId: id, input: sample(1), method: 'gradient' } })).statusCode).toBe(200);
      expect((await fb.app.inject({ url: '/api/results' })).json()).toHaveLength(1);
    } finally {
      await fb.dispose();
    }
  });
});

describe('datasets', () => {
  it('lists the bundled dataset and serves samples as PNG and .npy', async () => {
    const list = (await wb.app.inject({ url: '/api/datasets' })).json();
    expect(list).toEqual([{ name: 'mnist-samples', count: 8, shape: [1, 28, 28], preprocess: { size: [28, 28], grayscale: true, mean: [0.1307], std: [0.3081] }, labels: LABELS }]);
    const png = await wb.app.inject({ url: '/api/datasets/mnist-samples/samples/3' });
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.rawPayload.equals(readFileSync('examples/mnist/samples/digit-4-idx4.png'))).toBe(true);
    const npy = npyOf((await wb.app.inject({ url: '/api/datasets/mnist-samples/samples/3?format=npy' })).rawPayload);
    expect(npy.dims).toEqual([1, 1, 28, 28]);
    expect(npy.data[0]).toBeCloseTo(-0.1307 / 0.3081, 5);
  });
});

describe('bundled example', () => {
  it('is registered on the first start only: a deleted example model stays deleted', async () => {
    const first = await startBench();
    const dir = first.dir;
    const id = await bundledModelId(first);
    expect((await first.app.inject({ method: 'DELETE', url: `/api/models/${id}` })).statusCode).toBe(204);
    await first.close();
    const again = await startBench({ dir });
    try {
      expect((await again.app.inject({ url: '/api/models' })).json()).toEqual([]);
      expect((await again.app.inject({ url: '/api/datasets' })).json().map((d: { name: string }) => d.name)).toEqual(['mnist-samples']);
    } finally {
      await again.dispose();
      const { rmSync } = await import('node:fs');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('web UI', () => {
  it('serves the built UI at / when there is one, else a page pointing at the API', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const web = mkdtempSync(join(tmpdir(), 'xsys-web-'));
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>workbench</title><div id="root"></div>');
    writeFileSync(join(web, 'app.js'), 'console.log(1)');
    const withUi = await startBench({ webRoot: web, bundledExample: false });
    try {
      const index = await withUi.app.inject({ url: '/' });
      expect(index.statusCode).toBe(200);
      expect(index.body).toContain('<div id="root">');
      expect(index.headers['cross-origin-embedder-policy']).toBeUndefined();
      expect((await withUi.app.inject({ url: '/app.js' })).headers['content-type']).toMatch(/javascript/);
      expectProblem(await withUi.app.inject({ url: '/api/nope' }), 404);
    } finally {
      await withUi.dispose();
      rmSync(web, { recursive: true, force: true });
    }
    const page = await wb.app.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('/openapi.json');
  });
});
