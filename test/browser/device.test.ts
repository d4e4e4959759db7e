/**
 * On-device explanation (src/browser/device.ts) run here through onnxruntime-web's WASM backend, which is the same
 * code the browser runs; its numbers must equal the server path (onnxruntime-node) for the same model and input.
 */
import { readFileSync } from 'node:fs';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it, vi } from 'vitest';
import { configureRuntime, DEVICE_METHODS, DeviceExplainer, explainOnDevice, hasWebGpu, InputDataError, InvalidArgumentError, parseNpy, toFloat32 } from '../../src/browser/index.js';
import { explain } from '../../src/index.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';

const model = new Uint8Array(readFileSync('examples/mnist/mnist-cnn.onnx'));
const samples = parseNpy(new Uint8Array(readFileSync('examples/mnist/samples.npy')));
const per = 28 * 28;
const sample = (i: number) => ({ data: toFloat32(samples).slice(i * per, (i + 1) * per), dims: [1, 1, 28, 28] });

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

describe('DeviceExplainer (onnxruntime-web, WASM)', () => {
  const device = DeviceExplainer.load(model);

  it.each([
    ['lrp', 'epsilon-plus-flat'],
    ['lrp', 'epsilon-gamma-box'],
    ['gradient', ''],
    ['gradient-x-input', ''],
  ] as const)('%s %s equals the server path within 1e-5 relative', async (method, name) => {
    const composite = name || undefined;
    const input = sample(1);
    const d = await device.explain(input, { method, composite });
    const s = await explain(model, input, { method, composite });
    expect(d.backend).toBe('wasm');
    expect(d.target).toBe(s.targets[0]);
    expect(d.attribution.dims).toEqual([1, 1, 28, 28]);
    expect(maxRelDiff(d.scores.data, s.scores.data)).toBeLessThan(1e-5);
    expect(maxRelDiff(d.attribution.data, s.attribution.data)).toBeLessThan(1e-5);
    // Not all zero: a real explanation.
    expect(d.attribution.data.some((v) => Math.abs(v) > 1e-6)).toBe(true);
  });

  it('LRP conserves relevance: the attribution sums to about the explained logit', async () => {
    const input = sample(0);
    const d = await device.explain(input, { method: 'lrp', composite: 'epsilon-plus' });
    const total = d.attribution.data.reduce((a, b) => a + b, 0);
    const logit = d.scores.data[d.target]!;
    expect(Math.abs(total - logit) / Math.abs(logit)).toBeLessThan(0.2);
  });

  it('explains a chosen class, not only the prediction', async () => {
    const input = sample(2);
    const pred = await device.explain(input, { method: 'gradient' });
    const other = (pred.target + 3) % 10;
    const d = await device.explain(input, { method: 'gradient', target: other });
    const s = await explain(model, input, { method: 'gradient', target: other });
    expect(d.target).toBe(other);
    expect(maxRelDiff(d.attribution.data, s.attribution.data)).toBeLessThan(1e-5);
    expect(maxRelDiff(d.attribution.data, pred.attribution.data)).toBeGreaterThan(1e-2);
  });

  it('overlapping explanations queue instead of colliding in the runtime, each with its own result', async () => {
    const input = sample(5);
    const targets = [0, 3, 6, 9];
    const together = await Promise.all(targets.map((target) => device.explain(input, { method: 'gradient', target })));
    for (const [i, target] of targets.entries()) {
      const alone = await device.explain(input, { method: 'gradient', target });
      expect(together[i]!.target).toBe(target);
      expect(Array.from(together[i]!.attribution.data)).toEqual(Array.from(alone.attribution.data));
    }
  });

  it('explainOnDevice is the one-shot form', async () => {
    const input = sample(3);
    const a = await explainOnDevice(model, input, { method: 'gradient-x-input', target: 4 });
    const b = await device.explain(input, { method: 'gradient-x-input', target: 4 });
    expect(Array.from(a.attribution.data)).toEqual(Array.from(b.attribution.data));
  });

  it('rejects what it cannot do with typed errors', async () => {
    expect(DEVICE_METHODS).toEqual(['lrp', 'gradient', 'gradient-x-input']);
    const input = sample(0);
    await expect(device.explain(input, { method: 'occlusion' as never })).rejects.toThrow(InvalidArgumentError);
    await expect(device.explain(input, { target: 10 })).rejects.toThrow(/out of range.*10 classes/);
    await expect(device.explain(input, { method: 'gradient', composite: 'epsilon-plus' })).rejects.toThrow(/'lrp' only/);
    await expect(device.explain({ data: new Float32Array(100), dims: [1, 1, 10, 10] })).rejects.toThrow(InputDataError);
    const nan = sample(0);
    nan.data[5] = NaN;
    await expect(device.explain(nan)).rejects.toThrow(/non-finite/);
    expect(() => DeviceExplainer.load(new Uint8Array([1, 2, 3]))).toThrow(/not a valid ONNX model/);
  });
});

describe('DeviceExplainer on y = Wx + b (hand values)', () => {
  const W = [
    [1, -2, 0.5, 3],
    [0, 1, -1, 2],
  ];
  const x = { data: Float32Array.from([0.5, -1, 2, 0.25]), dims: [1, 4] };
  const linear = buildModel({
    nodes: [makeNode('Gemm', ['x', 'W', 'b'], ['y'], 'fc', { transB: { int: 1 } })],
    initializers: [floatTensor('W', Float32Array.from(W.flat()), [2, 4]), floatTensor('b', Float32Array.from([0.1, -0.2]), [2])],
    inputs: [valueInfo('x', [1, 4])],
    outputs: [valueInfo('y', [1, 2])],
  });
  const near = (a: Float32Array, b: number[]) => b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, 5));

  it('scores Wx + b = (4.35, −2.7); gradient of the predicted class is W_0; gradient × input of class 1 is W_1 ⊙ x', async () => {
    const d = DeviceExplainer.load(linear);
    near((await d.scores(x)).data, [4.35, -2.7]);
    const g = await d.explain(x, { method: 'gradient' });
    expect(g.target).toBe(0);
    near(g.attribution.data, W[0]!);
    near((await d.explain(x, { method: 'gradient-x-input', target: 1 })).attribution.data, [0, -1, -2, 0.5]);
  });

  it('lrp epsilon-plus (ε = 0.3) of class 1: x_i W_1i · z / (z − ε), z = −2.7', async () => {
    const e = await DeviceExplainer.load(linear).explain(x, { method: 'lrp', composite: 'epsilon-plus', params: { epsilon: 0.3 }, target: 1 });
    near(e.attribution.data, [0, -1, -2, 0.5].map((r) => (r * -2.7) / -3));
    expect(e.composite).toBe('epsilon-plus');
  });
});

describe('runtime set-up', () => {
  it('hasWebGpu: only when navigator.gpu exists; a webgpu request falls back to wasm without it', () => {
    try {
      vi.stubGlobal('navigator', undefined);
      expect(hasWebGpu()).toBe(false);
      expect(DeviceExplainer.load(model, { backend: 'webgpu' }).backend).toBe('wasm');
      vi.stubGlobal('navigator', { userAgent: 'test' });
      expect(hasWebGpu()).toBe(false);
      vi.stubGlobal('navigator', { gpu: null });
      expect(hasWebGpu()).toBe(false);
      vi.stubGlobal('navigator', { gpu: {} });
      expect(hasWebGpu()).toBe(true);
      expect(DeviceExplainer.load(model, { backend: 'webgpu' }).backend).toBe('webgpu');
      expect(DeviceExplainer.load(model).backend).toBe('wasm');
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('configureRuntime sets the .wasm location and thread count it is given, and nothing else', () => {
    const before = { wasmPaths: ortWeb.env.wasm.wasmPaths, numThreads: ortWeb.env.wasm.numThreads };
    try {
      configureRuntime({ wasmPaths: '/static/ort/', numThreads: 3 });
      expect(ortWeb.env.wasm.wasmPaths).toBe('/static/ort/');
      expect(ortWeb.env.wasm.numThreads).toBe(3);
      configureRuntime({ numThreads: 1 });
      expect(ortWeb.env.wasm.wasmPaths).toBe('/static/ort/');
      expect(ortWeb.env.wasm.numThreads).toBe(1);
      configureRuntime({});
      expect(ortWeb.env.wasm.numThreads).toBe(1);
    } finally {
      ortWeb.env.wasm.wasmPaths = before.wasmPaths;
      ortWeb.env.wasm.numThreads = before.numThreads;
    }
  });
});
