/**
 * On-device explanation (src/browser/device.ts) run here through onnxruntime-web's WASM backend, which is the same
 * code the browser runs; its numbers must equal the server path (onnxruntime-node) for the same model and input.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEVICE_METHODS, DeviceExplainer, explainOnDevice, InputDataError, InvalidArgumentError, parseNpy, toFloat32 } from '../../src/browser/index.js';
import { explain } from '../../src/index.js';

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
