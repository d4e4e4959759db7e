/**
 * Issue 10's leftovers: models with several inputs (POST /api/explain-inputs) and concept explanations
 * (POST /api/concepts/explain, CRP) compile in worker threads and run ONNX Runtime in the server's runtime thread,
 * as single-input explanations do (offload.test.ts): while a deep model's explainer or CRP graph compiles and runs,
 * /api/health keeps answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeNpy } from '../../src/io/npy.js';
import { serializeModel } from '../../src/onnx/model.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';
import { startBench, type TestBench } from '../server/helpers.js';
import { healthGapsDuring } from '../helpers/health-gaps.js';

let wb: TestBench;
beforeAll(async () => {
  // The bundled example brings the MNIST sample dataset the concepts route reads its input from.
  wb = await startBench();
}, 120_000);
afterAll(async () => wb.dispose());

/** `n` Gemm + Relu layers on [N, w] after `head` nodes: small, but seconds to analyse and compile. */
function chain(n: number, w: number, from: string, nodes: ReturnType<typeof makeNode>[], inits: ReturnType<typeof floatTensor>[]): string {
  let x = from;
  for (let i = 0; i < n; i++) {
    inits.push(floatTensor(`w${i}`, new Float32Array(w * w).fill(0.1), [w, w]));
    nodes.push(makeNode('Gemm', [x, `w${i}`], [`g${i}`], `fc${i}`, { transB: { int: 1 } }), makeNode('Relu', [`g${i}`], [`r${i}`], `relu${i}`));
    x = `r${i}`;
  }
  return x;
}

/** Two float inputs, added, then a deep chain. */
function twoInputMlp(n: number): Uint8Array {
  const nodes = [makeNode('Add', ['x', 'z'], ['s'], 'add')];
  const inits: ReturnType<typeof floatTensor>[] = [];
  const y = chain(n, 4, 's', nodes, inits);
  return serializeModel(buildModel({ nodes, initializers: inits, inputs: [valueInfo('x', [1, 4]), valueInfo('z', [1, 4])], outputs: [valueInfo(y, [1, 4])] }));
}

/** An MNIST-shaped CNN head (a 1×1 convolution 'c' with 2 channels, global pooling) and a deep chain. */
function deepCnn(n: number): Uint8Array {
  const nodes = [makeNode('Conv', ['x', 'k'], ['c'], 'conv'), makeNode('Relu', ['c'], ['cr'], 'crelu'), makeNode('GlobalAveragePool', ['cr'], ['p'], 'gap'), makeNode('Flatten', ['p'], ['f'], 'flat')];
  const inits = [floatTensor('k', Float32Array.of(1, 0.5), [2, 1, 1, 1])];
  const y = chain(n, 2, 'f', nodes, inits);
  return serializeModel(buildModel({ nodes, initializers: inits, inputs: [valueInfo('x', ['N', 1, 28, 28])], outputs: [valueInfo(y, ['N', 2])] }));
}

async function upload(bytes: Uint8Array, name: string): Promise<string> {
  const res = await wb.app.inject({ method: 'POST', url: `/api/models?name=${name}`, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from(bytes) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

function expectResponsive(r: { maxGapMs: number; answers: number; workMs: number }, what: string): void {
  console.log(`${what}: ${r.workMs.toFixed(0)} ms, longest health gap ${r.maxGapMs.toFixed(0)} ms, ${r.answers} answers`);
  // Relative, as in offload.test.ts: a blocked event loop answers once, after the work (gap ≈ the work time).
  expect(r.workMs).toBeGreaterThan(500);
  expect(r.maxGapMs).toBeLessThan(Math.max(350, r.workMs / 3));
  expect(r.answers).toBeGreaterThan(5);
}

describe('several inputs and concepts off the event loop', () => {
  it('POST /api/explain-inputs: health answers while a deep two-input model compiles and runs', async () => {
    const id = await upload(twoInputMlp(600), 'two-inputs.onnx');
    const npy = (v: number[]) => ({ npy: Buffer.from(encodeNpy(Float32Array.from(v), [1, 4])).toString('base64') });
    const r = await healthGapsDuring(wb.app, wb.app.inject({ method: 'POST', url: '/api/explain-inputs', payload: { modelId: id, inputs: { x: npy([1, 2, 3, 4]), z: npy([0, 0, 0, 1]) }, method: 'gradient' } }));
    expect(r.result.statusCode, r.result.body).toBe(200);
    expectResponsive(r, 'explain-inputs');
  }, 300_000);

  it('POST /api/concepts/explain: health answers while a deep CNN’s CRP graph compiles and runs', async () => {
    const id = await upload(deepCnn(300), 'deep-cnn.onnx');
    const r = await healthGapsDuring(wb.app, wb.app.inject({ method: 'POST', url: '/api/concepts/explain', payload: { modelId: id, dataset: 'mnist-samples', index: 0, layer: 'c', top: 2 } }));
    expect(r.result.statusCode, r.result.body).toBe(200);
    const b = r.result.json() as { channels: number; total: number; concepts: { relevance: number }[] };
    expect(b.channels).toBe(2);
    // The two concepts' relevance is the layer's total (conservation through the worker-thread runtime).
    expect(b.concepts.reduce((s, c) => s + c.relevance, 0)).toBeCloseTo(b.total, 4);
    expectResponsive(r, 'concepts/explain');
  }, 300_000);
});
