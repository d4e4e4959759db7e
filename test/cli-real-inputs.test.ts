/**
 * The CLI on inputs of real models: a fixed batch dimension (batched methods must not send more), score tensors with
 * hundreds of thousands of entries (no spread into Math.max), and half-precision models (explained in float32).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { TensorProtoSchema, TensorProto_DataType as DT } from 'onnx-buf';
import { serializeModel } from '../src/onnx/model.js';
import { writeNpy, readNpy } from '../src/io/npy-file.js';
import { toFloat32 } from '../src/io/npy.js';
import { batchLimit } from '../src/methods/explain.js';
import { argMax } from '../src/cli/options.js';
import { buildModel, floatTensor, makeNode, rng, uniform, valueInfo } from './helpers/onnx.js';
import { ensureDist, xsys } from './helpers/cli.js';

let dir: string;
beforeAll(() => {
  ensureDist();
  dir = mkdtempSync(join(tmpdir(), 'xsys-real-inputs-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('batch limits and argmax', () => {
  it('batchLimit: the model’s fixed batch caps --max-batch; symbolic batch dims do not', () => {
    expect(batchLimit([1, 8], undefined)).toBe(1);
    expect(batchLimit([4, 8], 16)).toBe(4);
    expect(batchLimit(['batch', 8], 16)).toBe(16);
    expect(batchLimit(['batch', 8], undefined)).toBe(32);
    expect(batchLimit(undefined, 0)).toBe(1);
  });

  it('argMax over 300 000 values (spreading them into Math.max overflows the stack)', () => {
    const v = new Float32Array(300_000);
    v[123_456] = 2;
    expect(argMax(v)).toBe(123_456);
  });
});

describe('xsys explain on real-model inputs', () => {
  it('a model with a fixed batch of 1: integrated-gradients and occlusion run in batches of 1, also with --max-batch 8', async () => {
    const W = uniform(rng(3), 8 * 3);
    const model = buildModel({
      nodes: [makeNode('Gemm', ['x', 'W'], ['y'], 'fc', { transB: { int: 1 } })],
      initializers: [floatTensor('W', W, [3, 8])],
      inputs: [valueInfo('x', [1, 8])],
      outputs: [valueInfo('y', [1, 3])],
    });
    writeFileSync(join(dir, 'fixed.onnx'), serializeModel(model));
    const x = uniform(rng(4), 8);
    await writeNpy(join(dir, 'x.npy'), x, [1, 8]);
    for (const method of ['integrated-gradients', 'occlusion']) {
      const r = await xsys('explain', join(dir, 'fixed.onnx'), join(dir, 'x.npy'), '--method', method, '--target', '1', '--max-batch', '8', ...(method === 'occlusion' ? ['--param', 'window=1', '--param', 'stride=1'] : []), '--out', join(dir, method), '--json');
      expect(r.code, r.stderr).toBe(0);
      const a = toFloat32(await readNpy(join(dir, method, 'x.npy')));
      // A linear model: IG (zero baseline) and single-feature occlusion are both W_1 ⊙ x.
      for (let i = 0; i < 8; i++) expect(a[i]).toBeCloseTo(W[8 + i]! * x[i]!, 4);
    }
    const bad = await xsys('explain', join(dir, 'fixed.onnx'), join(dir, 'x.npy'), '--method', 'occlusion', '--max-batch', '0', '--out', join(dir, 'bad'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-batch.*positive integer/);
  });

  it('scores of 300 000 classes: the summary names the predicted one (exit 0, not a stack overflow)', async () => {
    const classes = 300_000;
    const W = new Float32Array(2 * classes);
    W[250_000] = 5;
    const model = buildModel({
      nodes: [makeNode('MatMul', ['x', 'W'], ['y'], 'mm')],
      initializers: [floatTensor('W', W, [2, classes])],
      inputs: [valueInfo('x', ['batch', 2])],
      outputs: [valueInfo('y', ['batch', classes])],
    });
    writeFileSync(join(dir, 'wide.onnx'), serializeModel(model));
    await writeNpy(join(dir, 'w.npy'), Float32Array.of(1, 1), [1, 2]);
    const r = await xsys('explain', join(dir, 'wide.onnx'), join(dir, 'w.npy'), '--method', 'gradient', '--out', join(dir, 'wide'));
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(dir, 'wide', 'summary.json'), 'utf8')) as { prediction: number; target: number }[];
    expect(summary[0]!.prediction).toBe(250_000);
    expect(summary[0]!.target).toBe(250_000);
  });

  it('a float16 model explains in float32 and says so', async () => {
    const raw = new Uint8Array(4 * 2 * 2);
    // W = [[1, 0], [0, 2], [-1, 0], [0.5, 1]] in IEEE half.
    const halves = [0x3c00, 0, 0, 0x4000, 0xbc00, 0, 0x3800, 0x3c00];
    halves.forEach((h, i) => ((raw[2 * i] = h & 0xff), (raw[2 * i + 1] = h >> 8)));
    const model = buildModel({
      nodes: [makeNode('MatMul', ['x', 'W'], ['y'], 'mm')],
      initializers: [create(TensorProtoSchema, { name: 'W', dataType: DT.FLOAT16, dims: [4n, 2n], rawData: raw })],
      inputs: [valueInfo('x', ['batch', 4])],
      outputs: [valueInfo('y', ['batch', 2])],
    });
    for (const vi of [...model.graph!.input, ...model.graph!.output]) if (vi.type?.value.case === 'tensorType') vi.type.value.value.elemType = DT.FLOAT16;
    writeFileSync(join(dir, 'half.onnx'), serializeModel(model));
    await writeNpy(join(dir, 'h.npy'), Float32Array.of(1, 2, 3, 4), [1, 4]);
    const r = await xsys('explain', join(dir, 'half.onnx'), join(dir, 'h.npy'), '--method', 'gradient', '--target', '1', '--out', join(dir, 'half'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/converted from float16\/bfloat16 to float32.*explanation runs in float32/);
    const a = toFloat32(await readNpy(join(dir, 'half', 'h.npy')));
    expect(Array.from(a)).toEqual([0, 2, 0, 1]);
    const summary = JSON.parse(readFileSync(join(dir, 'half', 'summary.json'), 'utf8')) as { precision: string; logits: number[] }[];
    expect(summary[0]!.precision).toMatch(/float32/);
    expect(summary[0]!.logits).toEqual([1 - 3 + 2, 4 + 4]);
  });
});
