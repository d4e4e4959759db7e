/**
 * serializeModel writes initializers' raw bytes itself (not through protobuf-es); its output must parse to the same
 * model as protobuf-es's own encoding, run in ONNX Runtime, and leave the model object untouched. decodeTensor
 * decodes on first use and reads unaligned raw_data correctly. parseModel/readModel turn every unusable file into a
 * FileFormatError naming it.
 */
import { create, equals, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProtoSchema, TensorProto_DataType as DT } from 'onnx-buf';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FileFormatError } from '../../src/errors.js';
import { Graph } from '../../src/ir/graph.js';
import { parseModel, serializeModel } from '../../src/onnx/model.js';
import { decodeTensor } from '../../src/onnx/tensor.js';
import { buildModel, floatTensor, int64Tensor, makeNode, rng, runModel, uniform, valueInfo } from '../helpers/onnx.js';

function sampleModel() {
  const r = rng(7);
  // One weight large enough for a multi-byte length varint, one stored as float_data (no raw_data), int64 shape data.
  const w = floatTensor('W', uniform(r, 64 * 3 * 3 * 3), [64, 3, 3, 3]);
  const b = create(TensorProtoSchema, { name: 'b', dataType: DT.FLOAT, dims: [64n], floatData: Array.from(uniform(r, 64)) });
  const shape = int64Tensor('shape', [1, -1]);
  return buildModel({
    nodes: [makeNode('Conv', ['x', 'W', 'b'], ['c'], 'conv', { pads: { ints: [1, 1, 1, 1] } }), makeNode('Reshape', ['c', 'shape'], ['y'], 'flat')],
    initializers: [w, b, shape],
    inputs: [valueInfo('x', [1, 3, 5, 5])],
    outputs: [valueInfo('y', [1, 64 * 25])],
  });
}

describe('serializeModel', () => {
  it('parses back to the model protobuf-es encodes, initializers in order, and leaves the model unchanged', () => {
    const model = sampleModel();
    const before = toBinary(ModelProtoSchema, model);
    const bytes = serializeModel(model);
    expect(bytes.length).toBe(before.length);
    const back = fromBinary(ModelProtoSchema, bytes);
    expect(equals(ModelProtoSchema, back, fromBinary(ModelProtoSchema, before))).toBe(true);
    expect(back.graph!.initializer.map((t) => t.name)).toEqual(['W', 'b', 'shape']);
    expect(toBinary(ModelProtoSchema, model)).toEqual(before);
  });

  it('produces a model ONNX Runtime runs with the same results', async () => {
    const model = sampleModel();
    const x = uniform(rng(3), 75);
    const viaEs = await runModel(toBinary(ModelProtoSchema, model), { x: { data: x, dims: [1, 3, 5, 5] } });
    const viaOurs = await runModel(serializeModel(model), { x: { data: x, dims: [1, 3, 5, 5] } });
    expect(Array.from(viaOurs.y!.data)).toEqual(Array.from(viaEs.y!.data));
    expect(viaOurs.y!.data.some((v) => v !== 0)).toBe(true);
  });
});

describe('decodeTensor', () => {
  it('reads raw_data at an unaligned offset and decodes only when the values are used', () => {
    const values = Float32Array.of(1.5, -2.25, 3e-8, 42);
    const model = buildModel({ nodes: [makeNode('Add', ['x', 'W'], ['y'], 'add')], initializers: [floatTensor('W', values, [4])], inputs: [valueInfo('x', [4])], outputs: [valueInfo('y', [4])] });
    // Serialized then parsed, raw_data is a view into the file bytes; shift the file by one byte to unalign it.
    const bytes = serializeModel(model);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const parsed = parseModel(shifted.subarray(1));
    const raw = parsed.graph!.initializer[0]!.rawData;
    const c = decodeTensor(parsed.graph!.initializer[0]!);
    expect(c.dims).toEqual([4]);
    expect(Array.from(c.data)).toEqual(Array.from(values));
    expect(raw.byteOffset % 4 === 0 || c.data.buffer !== raw.buffer).toBe(true);
    const g = new Graph(parsed);
    expect(g.isConstant('W')).toBe(true);
    expect(g.isConstant('x')).toBe(false);
  });

  it('refuses data types it cannot decode when asked for the constant, not later', () => {
    const t = create(TensorProtoSchema, { name: 'h', dataType: DT.FLOAT16, dims: [2n], rawData: new Uint8Array(4) });
    expect(() => decodeTensor(t)).toThrow(/FLOAT16/);
  });
});

describe('parseModel / readModel', () => {
  it('readModel reads the example MNIST CNN: its nodes, initializer values and opset', async () => {
    const { readModel } = await import('../../src/onnx/file.js');
    const m = await readModel('examples/mnist/mnist-cnn.onnx');
    expect(m.graph!.node.map((n) => n.opType)).toEqual(['Conv', 'Relu', 'MaxPool', 'Conv', 'Relu', 'MaxPool', 'Flatten', 'Gemm', 'Relu', 'Gemm']);
    expect(m.opsetImport.length).toBeGreaterThan(0);
    const fc2 = decodeTensor(m.graph!.initializer.find((t) => t.name === 'fc2.weight')!);
    expect(fc2.dims).toEqual([10, 64]);
    // The same bytes parsed directly give the same numbers.
    const again = parseModel(new Uint8Array(readFileSync('examples/mnist/mnist-cnn.onnx')));
    expect(Array.from(decodeTensor(again.graph!.initializer.find((t) => t.name === 'fc2.weight')!).data as Float32Array)).toEqual(Array.from(fc2.data as Float32Array));
  });

  it('every unusable input is a FileFormatError naming the file, with a hint', async () => {
    const { readModel } = await import('../../src/onnx/file.js');
    const good = serializeModel(sampleModel());
    const noOpset = sampleModel();
    noOpset.opsetImport = [];
    const noNodes = sampleModel();
    noNodes.graph!.node = [];
    const external = sampleModel();
    external.graph!.initializer[0]!.dataLocation = 1;
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(0), /m\.onnx: file is empty/],
      [good.subarray(0, 100), /m\.onnx: not a valid ONNX model .*truncated or not ONNX/],
      [toBinary(ModelProtoSchema, noNodes), /it has no graph nodes/],
      [toBinary(ModelProtoSchema, noOpset), /it declares no opset/],
      [toBinary(ModelProtoSchema, external), /initializer 'W' is stored as external data/],
    ];
    for (const [bytes, msg] of cases) {
      let err: unknown;
      try {
        parseModel(bytes, 'm.onnx');
      } catch (e) {
        err = e;
      }
      expect(err, String(msg)).toBeInstanceOf(FileFormatError);
      expect((err as FileFormatError).message).toMatch(msg);
      expect((err as FileFormatError).file).toBe('m.onnx');
      expect((err as FileFormatError).hint).toBeTruthy();
    }
    expect(() => parseModel(good.subarray(0, 100))).toThrow(/^<buffer>: /);
    const missing = await readModel('no/such/model.onnx').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FileFormatError);
    expect((missing as FileFormatError).message).toBe('no/such/model.onnx: cannot read model file (ENOENT)');
  });
});
