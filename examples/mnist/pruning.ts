/**
 * Pruning by explaining on the bundled MNIST CNN: the reference set (20 unseen training images per class, from index
 * 30,000), a test set, and the accuracy of a (pruned) model on it. Used by test/correction/prune.test.ts and
 * scripts/pruning-benchmark.ts.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { argmaxRows, type Tensor } from '../../src/runtime/tensor.js';
import { normalizeMnist } from '../../src/strategies/artefact.js';
import type { Mnist } from '../clever-hans/findings.js';

export const MODEL = new URL('./mnist-cnn.onnx', import.meta.url).pathname;

function gather(x: Uint8Array, idx: readonly number[]): Uint8Array {
  const out = new Uint8Array(idx.length * 784);
  idx.forEach((i, k) => out.set(x.subarray(i * 784, (i + 1) * 784), k * 784));
  return out;
}

export function referenceSet(data: Mnist, perClass = 20, from = 30000): { inputs: Tensor; labels: number[] } {
  const idx: number[] = [];
  const count = new Array<number>(10).fill(0);
  for (let i = from; idx.length < 10 * perClass; i++) {
    const y = data.train.y[i]!;
    if (count[y]! < perClass) {
      count[y]!++;
      idx.push(i);
    }
  }
  return { inputs: normalizeMnist(gather(data.train.x, idx), idx.length, 28, 28), labels: idx.map((i) => data.train.y[i]!) };
}

export function testSet(data: Mnist, count = 10000): { inputs: Tensor; labels: number[] } {
  const idx = Array.from({ length: count }, (_, k) => k);
  return { inputs: normalizeMnist(gather(data.test.x, idx), count, 28, 28), labels: idx.map((i) => data.test.y[i]!) };
}

export async function accuracy(model: ModelProto, set: { inputs: Tensor; labels: number[] }): Promise<number> {
  const mx = await ModelExplainer.load(model);
  const n = set.labels.length;
  let ok = 0;
  for (let s = 0; s < n; s += 1000) {
    const e = Math.min(n, s + 1000);
    const sc = await mx.scores({ data: set.inputs.data.subarray(s * 784, e * 784), dims: [e - s, 1, 28, 28] });
    argmaxRows(sc.data, e - s).forEach((p, k) => (ok += p === set.labels[s + k] ? 1 : 0));
  }
  return ok / n;
}
