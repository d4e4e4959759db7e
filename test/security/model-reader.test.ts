/**
 * Regression tests for issue 10, defects 2–4 and part of 6: models that read files through external data, models
 * whose sizes would exhaust memory at compile time, and graphs whose walks would never end. Each is refused with a
 * typed error when it is read or analysed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { create } from '@bufbuild/protobuf';
import { AttributeProtoSchema, AttributeProto_AttributeType as AT, SparseTensorProtoSchema, TensorProtoSchema, TensorProto_DataType as DT, type TensorProto } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';

import { inspectModel } from '../../src/compiler/inspect.js';
import { compileExplainer } from '../../src/compiler/compile.js';
import { FileFormatError, LimitExceededError, UnsupportedModelError, XsysError } from '../../src/errors.js';
import { Graph } from '../../src/ir/graph.js';
import { inferShapes } from '../../src/ops/shapes.js';
import { parseModel, serializeModel } from '../../src/onnx/model.js';
import { decodeTensor } from '../../src/onnx/tensor.js';
import { createSession, ortOptions } from '../../src/runtime/session.js';
import { buildModel, floatTensor, int64Tensor, makeNode, valueInfo } from '../helpers/onnx.js';

const dir = mkdtempSync(join(tmpdir(), 'xsys-sec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A float tensor whose 16 bytes live in file `location` (relative: ONNX Runtime resolves it against its cwd). */
function externalTensor(name: string, location: string): TensorProto {
  return create(TensorProtoSchema, {
    name,
    dataType: DT.FLOAT,
    dims: [4n],
    dataLocation: 1,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: '0' },
      { key: 'length', value: '16' },
    ],
  });
}

/** y = x + c, c a Constant node (the attack of the issue: not an initializer). */
function constantModel(value: TensorProto) {
  return buildModel({
    nodes: [makeNode('Constant', [], ['c'], 'const', { value: { tensor: value } }), makeNode('Add', ['x', 'c'], ['y'], 'add')],
    inputs: [valueInfo('x', [4])],
    outputs: [valueInfo('y', [4])],
  });
}

const expectFileError = (bytes: Uint8Array, re: RegExp) => {
  let err: unknown;
  try {
    parseModel(bytes, 'up.onnx');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(XsysError);
  expect((err as Error).message).toMatch(re);
  return err as XsysError;
};

describe('external data is refused everywhere in a model (defect 2)', () => {
  it('in a Constant node attribute', () => {
    const err = expectFileError(serializeModel(constantModel(externalTensor('c', 'secret.bin'))), /external data/);
    expect(err).toBeInstanceOf(FileFormatError);
    expect(err.message).toMatch(/up\.onnx: attribute 'value' of node 'const'/);
  });

  it('in an initializer, a tensors attribute, a sparse tensor and a subgraph', () => {
    const init = buildModel({ nodes: [makeNode('Add', ['x', 'w'], ['y'], 'add')], initializers: [externalTensor('w', 'w.bin')], inputs: [valueInfo('x', [4])], outputs: [valueInfo('y', [4])] });
    expectFileError(serializeModel(init), /initializer 'w'.*external data/);

    const tensors = constantModel(floatTensor('c', new Float32Array(4), [4]));
    tensors.graph!.node[0]!.attribute.push(create(AttributeProtoSchema, { name: 'extra', type: AT.TENSORS, tensors: [externalTensor('e', 'e.bin')] }));
    expectFileError(serializeModel(tensors), /attribute 'extra'.*external data/);

    const sparse = constantModel(floatTensor('c', new Float32Array(4), [4]));
    sparse.graph!.node[0]!.attribute = [
      create(AttributeProtoSchema, { name: 'sparse_value', type: AT.SPARSE_TENSOR, sparseTensor: create(SparseTensorProtoSchema, { values: externalTensor('v', 'v.bin'), indices: int64Tensor('i', [0, 1, 2, 3]), dims: [4n] }) }),
    ];
    expectFileError(serializeModel(sparse), /sparse_value.*external data/);

    const sparseInit = constantModel(floatTensor('c', new Float32Array(4), [4]));
    sparseInit.graph!.sparseInitializer = [create(SparseTensorProtoSchema, { values: externalTensor('s', 's.bin'), indices: int64Tensor('si', [0]), dims: [4n] })];
    expectFileError(serializeModel(sparseInit), /sparse initializer.*external data/);

    // An If whose then-branch holds the Constant: subgraphs are walked too.
    const branch = constantModel(externalTensor('c', 'secret.bin')).graph!;
    const withIf = buildModel({
      nodes: [makeNode('Constant', [], ['cond'], 'cond', { value: { tensor: create(TensorProtoSchema, { name: 'b', dataType: DT.BOOL, dims: [], int32Data: [1] }) } }), makeNode('If', ['cond'], ['y'], 'if')],
      inputs: [valueInfo('x', [4])],
      outputs: [valueInfo('y', [4])],
    });
    withIf.graph!.node[1]!.attribute = [create(AttributeProtoSchema, { name: 'then_branch', type: AT.GRAPH, g: branch }), create(AttributeProtoSchema, { name: 'else_branch', type: AT.GRAPH, g: branch })];
    expectFileError(serializeModel(withIf), /then_branch.*const.*external data|attribute 'value' of node 'const'.*external data/);
  });

  it('ONNX Runtime sessions created from bytes cannot resolve external data against the working directory', async () => {
    // A model that got past the reader (bytes handed straight to createSession) still reads no file: sessions are
    // created with an empty external-data folder.
    const secret = new Float32Array([1, 2, 3, 4]);
    writeFileSync(join(process.cwd(), '.xsys-test-secret.bin'), new Uint8Array(secret.buffer));
    try {
      const bytes = serializeModel(buildModel({ nodes: [makeNode('Add', ['x', 'w'], ['y'], 'add')], initializers: [externalTensor('w', '.xsys-test-secret.bin')], inputs: [valueInfo('x', [4])], outputs: [valueInfo('y', [4])] }));
      await expect(createSession(bytes)).rejects.toThrow(XsysError);
      // Without graph optimisation ORT reads external data lazily, which is when the working directory was searched.
      await expect(ort.InferenceSession.create(bytes, { ...ortOptions(), graphOptimizationLevel: 'disabled' })).rejects.toThrow(/External data path/);
    } finally {
      rmSync(join(process.cwd(), '.xsys-test-secret.bin'), { force: true });
    }
  });
});

describe('sizes computed at compile time are bounded (defect 3)', () => {
  it('a constant with dims [1e9, 1e9] and no data is refused when read', () => {
    const c = create(TensorProtoSchema, { name: 'c', dataType: DT.INT64, dims: [1_000_000_000n, 1_000_000_000n] });
    const err = expectFileError(serializeModel(constantModel(c)), /element count|values/);
    expect(err).toBeInstanceOf(XsysError);
  });

  it('the 228-byte attack: a shape of length 1e9 concatenated into a Reshape is refused, not allocated', () => {
    // Shape of a [1e9]-element tensor is a 1-element vector [1e9]; ConstantOfShape of it would have 1e9 values, and
    // the Reshape target's length (its rank) would be 1e9 + 2.
    const model = buildModel({
      nodes: [
        makeNode('Constant', [], ['big'], 'big', { value: { tensor: int64Tensor('b', [1_000_000_000]) } }),
        makeNode('ConstantOfShape', ['big'], ['ones'], 'ones', { value: { tensor: int64Tensor('one', [1], [1]) } }),
        makeNode('Constant', [], ['two'], 'two', { value: { tensor: int64Tensor('t', [1, 4]) } }),
        makeNode('Concat', ['two', 'ones'], ['shape'], 'cat', { axis: { int: 0 } }),
        makeNode('Reshape', ['x', 'shape'], ['y'], 'reshape'),
      ],
      inputs: [valueInfo('x', [1, 4])],
      outputs: [valueInfo('y')],
    });
    const parsed = parseModel(serializeModel(model), 'attack.onnx');
    const t0 = Date.now();
    expect(() => inferShapes(new Graph(parsed))).toThrow(LimitExceededError);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a Reshape to [1e9, 1e9] and a pooling window of 1e6 are refused with the limit named', () => {
    const reshape = buildModel({
      nodes: [makeNode('Reshape', ['x', 'shape'], ['y'], 'reshape')],
      initializers: [int64Tensor('shape', [1_000_000_000, 1_000_000_000])],
      inputs: [valueInfo('x', [1, 4])],
      outputs: [valueInfo('y')],
    });
    expect(() => inferShapes(new Graph(parseModel(serializeModel(reshape))))).toThrow(/element count: 1000000000000000000 exceeds the limit of 2147483647/);
    const pool = buildModel({
      nodes: [makeNode('AveragePool', ['x'], ['y'], 'pool', { kernel_shape: { ints: [1000, 1000] } })],
      inputs: [valueInfo('x', [1, 1, 1000, 1000])],
      outputs: [valueInfo('y', [1, 1, 1, 1])],
    });
    expect(() => compileExplainer(pool, { method: 'gradient' })).toThrow(/kernel_shape product: 1000000 exceeds the limit of 4096/);
  });

  it('raw data shorter than the dims, dims of 2^31 and fp16 constants are typed errors (defect 6)', () => {
    const short = create(TensorProtoSchema, { name: 'c', dataType: DT.FLOAT, dims: [4n], rawData: new Uint8Array(8) });
    expectFileError(serializeModel(constantModel(short)), /raw data has 8 bytes.*need 16/);
    const huge = create(TensorProtoSchema, { name: 'c', dataType: DT.FLOAT, dims: [2n ** 31n], rawData: new Uint8Array(4) });
    expectFileError(serializeModel(constantModel(huge)), /dimension: 2147483648 exceeds the limit/);
    const fp16 = create(TensorProtoSchema, { name: 'h', dataType: DT.FLOAT16, dims: [4n], rawData: new Uint8Array(8) });
    expect(() => decodeTensor(fp16)).toThrow(UnsupportedModelError);
    expect(() => decodeTensor(fp16)).toThrow(/FLOAT16 are not supported/);
    // Built in memory (never parsed): decodeTensor checks the data length itself.
    expect(() => decodeTensor(short).data).toThrow(FileFormatError);
  });
});

describe('cycles and duplicate producers are refused when the model is read (defect 4)', () => {
  it('a node that consumes its own output, plus a second producer of that tensor', () => {
    const model = buildModel({
      nodes: [makeNode('Relu', ['x'], ['y'], 'first'), makeNode('Reshape', ['y', 'shape'], ['y'], 'loop')],
      initializers: [int64Tensor('shape', [1, 4])],
      inputs: [valueInfo('x', [1, 4])],
      outputs: [valueInfo('y', [1, 4])],
    });
    expectFileError(serializeModel(model), /tensor 'y' is also produced by node 'first'/);
  });

  it('a self-loop alone and a two-node cycle', () => {
    const self = buildModel({ nodes: [makeNode('Add', ['x', 'y'], ['y'], 'selfish')], inputs: [valueInfo('x', [4])], outputs: [valueInfo('y', [4])] });
    expectFileError(serializeModel(self), /node 'selfish'.*cycle/);
    const two = buildModel({ nodes: [makeNode('Relu', ['b'], ['a'], 'A'), makeNode('Relu', ['a'], ['b'], 'B')], inputs: [valueInfo('x', [4])], outputs: [valueInfo('a', [4])] });
    expectFileError(serializeModel(two), /cycle/);
    // Graphs built in memory are checked by Graph too, so inspection never walks a cycle.
    expect(() => inspectModel(self, 'epsilon-plus-flat', {})).toThrow(/cycle/);
  });
});
