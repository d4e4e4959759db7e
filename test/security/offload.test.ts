/**
 * Issue 10, defects 5 and 7 on the server. Model checks and compilation run in worker threads: while a model that
 * takes seconds to check and to compile is uploaded and explained, /api/health keeps answering within a fraction of
 * that time. A model ONNX Runtime cannot load is refused on upload with 422 and ORT's reason, and nothing is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeNpy } from '../../src/io/npy.js';
import { serializeModel } from '../../src/onnx/model.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';
import { startBench, type TestBench } from '../server/helpers.js';
import { healthGapsDuring } from '../helpers/health-gaps.js';

let wb: TestBench;
beforeAll(async () => {
  wb = await startBench({ bundledExample: false });
});
afterAll(async () => wb.dispose());

/** A chain of `n` Gemm + Relu layers on [1, 4]: small (≈ 160 bytes a layer) but seconds to analyse and compile. */
function deepMlp(n: number): Uint8Array {
  const nodes = [];
  const inits = [];
  let x = 'x';
  for (let i = 0; i < n; i++) {
    inits.push(floatTensor(`w${i}`, new Float32Array(16).fill(0.1), [4, 4]));
    nodes.push(makeNode('Gemm', [x, `w${i}`], [`g${i}`], `fc${i}`, { transB: { int: 1 } }), makeNode('Relu', [`g${i}`], [`r${i}`], `relu${i}`));
    x = `r${i}`;
  }
  return serializeModel(buildModel({ nodes, initializers: inits, inputs: [valueInfo('x', [1, 4])], outputs: [valueInfo(x, [1, 4])] }));
}

describe('heavy model work off the event loop (defect 5)', () => {
  it('health answers while a slow model is checked on upload and while its explainer compiles', async () => {
    const bytes = deepMlp(2000);
    const upload = await healthGapsDuring(wb.app, wb.app.inject({ method: 'POST', url: '/api/models?name=deep.onnx', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from(bytes) }));
    expect(upload.result.statusCode, upload.result.body).toBe(201);
    const id = upload.result.json().id as string;
    const npy = Buffer.from(encodeNpy(new Float32Array([1, 2, 3, 4]), [1, 4])).toString('base64');
    const explain = await healthGapsDuring(wb.app, wb.app.inject({ method: 'POST', url: '/api/explain', payload: { modelId: id, input: { kind: 'npy', npy }, method: 'gradient' } }));
    expect(explain.result.statusCode, explain.result.body).toBe(200);
    // A blocked event loop would have answered health once, after the work: its longest gap would be the whole
    // work time. The check is relative, so a faster machine (CI ran the upload in 990 ms) does not fail it; the
    // work only has to be long enough that polling every 25 ms can tell the two apart.
    console.log(`upload: ${upload.workMs.toFixed(0)} ms, longest health gap ${upload.maxGapMs.toFixed(0)} ms; explain: ${explain.workMs.toFixed(0)} ms, longest gap ${explain.maxGapMs.toFixed(0)} ms`);
    for (const r of [upload, explain]) {
      expect(r.workMs).toBeGreaterThan(500);
      expect(r.maxGapMs).toBeLessThan(Math.max(350, r.workMs / 3));
      expect(r.answers).toBeGreaterThan(5);
    }
  }, 300_000);
});

describe('uploads ONNX Runtime cannot load (defect 7)', () => {
  it('are refused with 422 and ORT’s reason, and nothing is stored', async () => {
    const before = (await wb.app.inject({ url: '/api/models' })).json();
    // A float tensor added to an int64 one: the compiler's analysis passes it, ORT's type check does not.
    const bad = buildModel({
      nodes: [makeNode('Add', ['x', 'k'], ['y'], 'add')],
      initializers: [{ ...floatTensor('k', new Float32Array(4), [4]), dataType: 7, rawData: new Uint8Array(32) } as never],
      inputs: [valueInfo('x', [1, 4])],
      outputs: [valueInfo('y', [1, 4])],
    });
    const res = await wb.app.inject({ method: 'POST', url: '/api/models?name=bad.onnx', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from(serializeModel(bad)) });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toMatchObject({ type: 'https://xsys.dev/problems/unsupported-model', detail: expect.stringMatching(/^bad\.onnx: ONNX Runtime cannot load this model: .*(Type|type)/) });
    expect((await wb.app.inject({ url: '/api/models' })).json()).toEqual(before);
    expect((await wb.app.inject({ url: `/api/models/${'0'.repeat(64)}` })).statusCode).toBe(404);
  });
});
