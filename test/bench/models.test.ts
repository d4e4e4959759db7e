import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProto_DataType, type ModelProto } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createSession, median, timeRuns } from '../../bench/harness.js';
import { IMAGE_SHAPE, buildResnet50, buildVgg16, randomImages } from '../../bench/models.js';

function opCounts(m: ModelProto): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of m.graph!.node) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
  return counts;
}

function dims(m: ModelProto, which: 'input' | 'output'): (string | number)[] {
  const vi = m.graph![which][0]!;
  if (vi.type?.value.case !== 'tensorType') throw new Error('not a tensor type');
  return vi.type.value.value.shape!.dim.map((d) => (d.value.case === 'dimParam' ? d.value.value : Number(d.value.value)));
}

/** Learnable parameters as torchvision counts them (BN running statistics excluded). */
function paramCount(m: ModelProto): number {
  let n = 0;
  for (const t of m.graph!.initializer) {
    if (/running_(mean|var)$/.test(t.name)) continue;
    n += t.dims.reduce((a, b) => a * Number(b), 1);
  }
  return n;
}

function checkStructure(m: ModelProto): void {
  expect(m.irVersion).toBe(8n);
  expect(m.opsetImport.map((o) => [o.domain, o.version])).toEqual([['', 17n]]);
  expect(m.graph!.input.map((i) => i.name)).toEqual(['input']);
  expect(m.graph!.output.map((o) => o.name)).toEqual(['logits']);
  expect(dims(m, 'input')).toEqual(['batch', 3, 224, 224]);
  // Every initializer is float32 raw_data of exactly the declared size, and every node input is defined.
  const defined = new Set<string>(['input', ...m.graph!.initializer.map((t) => t.name)]);
  for (const t of m.graph!.initializer) {
    expect(t.dataType).toBe(TensorProto_DataType.FLOAT);
    expect(t.rawData.length).toBe(4 * t.dims.reduce((a, b) => a * Number(b), 1));
  }
  for (const n of m.graph!.node) {
    for (const i of n.input) expect(defined.has(i), `${n.name} input ${i}`).toBe(true);
    for (const o of n.output) defined.add(o);
  }
  expect(defined.has('logits')).toBe(true);
}

async function forwardBatch1(bytes: Uint8Array): Promise<Float32Array> {
  const { session } = await createSession(bytes);
  try {
    const out = await session.run({ input: new ort.Tensor('float32', randomImages(1), [1, ...IMAGE_SHAPE]) });
    expect(out.logits!.dims).toEqual([1, 1000]);
    return out.logits!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function checkLogits(logits: Float32Array): void {
  expect(logits.length).toBe(1000);
  expect(logits.every(Number.isFinite)).toBe(true);
  const mean = logits.reduce((a, b) => a + b, 0) / logits.length;
  const std = Math.sqrt(logits.reduce((a, b) => a + (b - mean) ** 2, 0) / logits.length);
  // Non-degenerate and not exploding.
  expect(std).toBeGreaterThan(0.1);
  expect(std).toBeLessThan(100);
  expect(Math.abs(mean)).toBeLessThan(5 * std);
}

describe('bench models', () => {
  it('ResNet50: torchvision topology, unfolded BN, finite forward, deterministic', async () => {
    const bytes = buildResnet50({ seed: 0 });
    const m = fromBinary(ModelProtoSchema, bytes);
    checkStructure(m);
    expect(dims(m, 'output')).toEqual(['batch', 1000]);
    expect(opCounts(m)).toEqual({
      Conv: 53,
      BatchNormalization: 53,
      Relu: 49,
      Add: 16,
      MaxPool: 1,
      GlobalAveragePool: 1,
      Flatten: 1,
      Gemm: 1,
    });
    expect(paramCount(m)).toBe(25_557_032); // torchvision resnet50
    // Every Conv feeds a BatchNormalization directly (nothing folded).
    const consumers = new Map<string, string[]>();
    for (const n of m.graph!.node) for (const i of n.input) consumers.set(i, [...(consumers.get(i) ?? []), n.opType]);
    for (const n of m.graph!.node.filter((x) => x.opType === 'Conv')) {
      expect(n.input).toHaveLength(2);
      expect(consumers.get(n.output[0]!)).toEqual(['BatchNormalization']);
    }

    checkLogits(await forwardBatch1(bytes));

    expect(Buffer.compare(buildResnet50({ seed: 0 }), bytes)).toBe(0);
    expect(Buffer.compare(buildResnet50({ seed: 1 }), bytes)).not.toBe(0);
    const small = fromBinary(ModelProtoSchema, buildResnet50({ numClasses: 10 }));
    expect(dims(small, 'output')).toEqual(['batch', 10]);
  });

  it('VGG16: torchvision topology, finite forward, deterministic', async () => {
    const bytes = buildVgg16({ seed: 0 });
    const m = fromBinary(ModelProtoSchema, bytes);
    checkStructure(m);
    expect(dims(m, 'output')).toEqual(['batch', 1000]);
    expect(opCounts(m)).toEqual({ Conv: 13, Relu: 15, MaxPool: 5, Flatten: 1, Gemm: 3 });
    expect(paramCount(m)).toBe(138_357_544); // torchvision vgg16
    const gemms = m.graph!.node.filter((n) => n.opType === 'Gemm');
    expect(gemms.map((n) => n.attribute.find((a) => a.name === 'transB')?.i)).toEqual([1n, 1n, 1n]);
    const init = new Map(m.graph!.initializer.map((t) => [t.name, t.dims.map(Number)]));
    expect(gemms.map((n) => init.get(n.input[1]!))).toEqual([
      [4096, 25088],
      [4096, 4096],
      [1000, 4096],
    ]);

    checkLogits(await forwardBatch1(bytes));

    expect(Buffer.compare(buildVgg16({ seed: 0 }), bytes)).toBe(0);
  });
});

describe('bench harness', () => {
  it('median and timeRuns', async () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    let calls = 0;
    const t = await timeRuns(async () => void calls++, 3, 2);
    expect(calls).toBe(5);
    expect(t.runsMs).toHaveLength(3);
    expect(t.minMs).toBeLessThanOrEqual(t.medianMs);
    expect(t.medianMs).toBeLessThanOrEqual(t.maxMs);
  });
});
