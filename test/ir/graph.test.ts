/**
 * The graph IR on its own: Graph's queries and rewrites on small hand-built graphs, and inferShapes on the example
 * MNIST CNN and on ops whose output shapes follow from a line of arithmetic (conv/pool sizes, Reshape with 0 and −1).
 */
import { create } from '@bufbuild/protobuf';
import { NodeProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/ir/graph.js';
import { inferShapes } from '../../src/ops/shapes.js';
import { readModel } from '../../src/onnx/file.js';
import { XsysError } from '../../src/errors.js';
import { buildModel, floatTensor, int64Tensor, makeNode, valueInfo } from '../helpers/onnx.js';

/** x → Relu → a; a + W → b; Constant c; b · c → y. W is also listed as a graph input (old exporters do that). */
function small() {
  const m = buildModel({
    nodes: [
      makeNode('Mul', ['b', 'c'], ['y'], 'mul'),
      makeNode('Add', ['a', 'W'], ['b'], 'add'),
      makeNode('Relu', ['x'], ['a'], 'relu'),
      makeNode('Constant', [], ['c'], 'const', { value_floats: { floats: [2, 3] } }),
    ],
    initializers: [floatTensor('W', Float32Array.from([0.5, -0.5]), [2])],
    inputs: [valueInfo('x', ['batch', 2]), valueInfo('W', [2])],
    outputs: [valueInfo('y', ['batch', 2])],
  });
  return new Graph(m);
}

describe('Graph', () => {
  it('sorts nodes topologically and indexes producers and consumers', () => {
    const g = small();
    const order = g.nodes.map((n) => n.name);
    expect(order.indexOf('relu')).toBeLessThan(order.indexOf('add'));
    expect(order.indexOf('add')).toBeLessThan(order.indexOf('mul'));
    expect(order.indexOf('const')).toBeLessThan(order.indexOf('mul'));
    expect(g.producer('b')!.name).toBe('add');
    expect(g.producer('x')).toBeUndefined();
    expect(g.consumers('a').map((n) => n.name)).toEqual(['add']);
    expect(g.consumers('y')).toEqual([]);
    expect(g.isGraphOutput('y')).toBe(true);
    expect(g.isGraphOutput('b')).toBe(false);
  });

  it('inputs leave out initializers listed as inputs', () => {
    const g = small();
    expect(g.inputs.map((i) => i.name)).toEqual(['x']);
    expect(g.outputs.map((o) => o.name)).toEqual(['y']);
    expect(g.initializer('W')!.dims).toEqual([2n]);
  });

  it('constant() decodes initializers and every Constant attribute form; inputs are not constants', () => {
    const g = small();
    // W is an initializer but also a graph input, so a caller may override it: not a constant.
    expect(g.constant('W')).toBeUndefined();
    expect(Array.from(g.constant('c')!.data as Float32Array)).toEqual([2, 3]);
    expect(g.constant('c')!.dims).toEqual([2]);
    expect(g.isConstant('a')).toBe(false);
    expect(g.constant('')).toBeUndefined();

    const m = buildModel({
      nodes: [
        makeNode('Constant', [], ['f'], 'k1', { value_float: { float: 1.5 } }),
        makeNode('Constant', [], ['i'], 'k2', { value_int: { int: -7 } }),
        makeNode('Constant', [], ['is'], 'k3', { value_ints: { ints: [4, 5, 6] } }),
        makeNode('Constant', [], ['t'], 'k4', { value: { tensor: floatTensor('t', Float32Array.from([1, 2, 3, 4]), [2, 2]) } }),
        makeNode('Add', ['x', 'w'], ['y'], 'add'),
      ],
      initializers: [int64Tensor('w', [10, 20])],
      inputs: [valueInfo('x', [2])],
      outputs: [valueInfo('y', [2])],
    });
    const h = new Graph(m);
    expect(h.constant('f')).toEqual({ dataType: 1, dims: [], data: Float32Array.of(1.5) });
    expect(h.constant('i')).toEqual({ dataType: 7, dims: [], data: BigInt64Array.of(-7n) });
    expect(h.constant('is')).toEqual({ dataType: 7, dims: [3], data: BigInt64Array.from([4n, 5n, 6n]) });
    expect(h.constant('t')!.dims).toEqual([2, 2]);
    expect(Array.from(h.constant('t')!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(Array.from(h.constant('w')!.data as BigInt64Array)).toEqual([10n, 20n]);
  });

  it('fresh() never repeats a name already used by a tensor, node or initializer', () => {
    const g = small();
    expect(g.fresh('new')).toBe('new');
    expect(g.fresh('new')).toBe('new_1');
    const relu = g.fresh('relu');
    expect(relu).not.toBe('relu');
    expect(g.fresh('W')).not.toBe('W');
    expect(new Set([g.fresh('a'), g.fresh('a'), g.fresh('a')]).size).toBe(3);
  });

  it('addNode, addOutput, replaceUses, removeNodes and pruneInitializers keep the indexes right', () => {
    const g = small();
    g.addInitializer(floatTensor('two', Float32Array.of(2), []));
    g.addNode(create(NodeProtoSchema, { opType: 'Mul', name: 'double', input: ['a', 'two'], output: ['a2'] }));
    expect(g.producer('a2')!.name).toBe('double');
    expect(g.consumers('a').map((n) => n.name).sort()).toEqual(['add', 'double']);
    g.addOutput('a2');
    g.addOutput('a2');
    expect(g.outputs.map((o) => o.name)).toEqual(['y', 'a2']);
    // Route the Add through the doubled activation, then drop the Relu's other user.
    g.replaceUses('a', 'a2');
    expect(g.producer('b')!.input).toEqual(['a2', 'W']);
    const mul = g.nodes.find((n) => n.name === 'mul')!;
    g.removeNodes(new Set([mul]));
    expect(g.producer('y')).toBeUndefined();
    expect(g.consumers('b')).toEqual([]);
    g.proto.output = g.proto.output.filter((o) => o.name !== 'y');
    g.pruneInitializers();
    expect(g.proto.initializer.map((t) => t.name).sort()).toEqual(['W', 'two']);
    g.removeNodes(new Set(g.nodes.filter((n) => n.name === 'double')));
    g.pruneInitializers();
    expect(g.proto.initializer.map((t) => t.name)).toEqual(['W']);
  });

  it('a node reading a tensor twice is one consumer, whether added or indexed', () => {
    const g = small();
    g.addNode(create(NodeProtoSchema, { opType: 'Mul', name: 'square', input: ['b', 'b'], output: ['b2'] }));
    expect(g.consumers('b').map((n) => n.name)).toEqual(['mul', 'square']);
    g.reindex();
    expect(g.consumers('b').map((n) => n.name)).toEqual(['mul', 'square']);
  });

  it('a cycle is an XsysError naming a node on it', () => {
    const m = buildModel({
      nodes: [makeNode('Add', ['x', 'q'], ['p'], 'first'), makeNode('Relu', ['p'], ['q'], 'second')],
      inputs: [valueInfo('x', [1])],
      outputs: [valueInfo('q', [1])],
    });
    expect(() => new Graph(m)).toThrow(XsysError);
    expect(() => new Graph(m)).toThrow(/graph has a cycle \(at node '(first|second)' \((Add|Relu)\)\)/);
  });
});

describe('inferShapes', () => {
  it('the example MNIST CNN: conv keeps 28×28 with pad 1, each max-pool halves, 32·7·7 = 1568 features', async () => {
    const g = new Graph(await readModel('examples/mnist/mnist-cnn.onnx'));
    const info = inferShapes(g);
    const shapeOf = (op: string, k = 0) => info.get(g.nodes.filter((n) => n.opType === op)[k]!.output[0]!)!.shape;
    expect(info.get('input')).toEqual({ elemType: 1, shape: ['batch', 1, 28, 28] });
    expect(shapeOf('Conv', 0)).toEqual(['batch', 16, 28, 28]);
    expect(shapeOf('MaxPool', 0)).toEqual(['batch', 16, 14, 14]);
    expect(shapeOf('Conv', 1)).toEqual(['batch', 32, 14, 14]);
    expect(shapeOf('MaxPool', 1)).toEqual(['batch', 32, 7, 7]);
    expect(shapeOf('Flatten')![1]).toBe(1568);
    expect(info.get('logits')!.shape![1]).toBe(10);
    expect(info.get('fc1.weight')).toEqual({ elemType: 1, shape: [64, 1568] });
  });

  it('conv and pool arithmetic: ⌊(in + pads − dilation·(k−1) − 1) / stride⌋ + 1', () => {
    const m = buildModel({
      nodes: [
        makeNode('Conv', ['x', 'K'], ['c'], 'conv', { strides: { ints: [2, 3] }, pads: { ints: [1, 0, 1, 2] }, dilations: { ints: [1, 2] } }),
        makeNode('AveragePool', ['c'], ['p'], 'pool', { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 1] } }),
        makeNode('GlobalAveragePool', ['p'], ['g'], 'gap'),
      ],
      initializers: [floatTensor('K', new Float32Array(4 * 3 * 3 * 2), [4, 3, 3, 2])],
      inputs: [valueInfo('x', ['n', 3, 11, 13])],
      outputs: [valueInfo('g', ['n', 4, 1, 1])],
    });
    const info = inferShapes(new Graph(m));
    // H: ⌊(11 + 2 − 2 − 1)/2⌋ + 1 = 6; W: ⌊(13 + 2 − 2·1 − 1)/3⌋ + 1 = 5. Pool: ⌊(6 − 2)/2⌋ + 1 = 3, 5 − 2 + 1 = 4.
    expect(info.get('c')!.shape).toEqual(['n', 4, 6, 5]);
    expect(info.get('p')!.shape).toEqual(['n', 4, 3, 4]);
    expect(info.get('g')!.shape).toEqual(['n', 4, 1, 1]);
  });

  it('a chain: Reshape with 0 and −1, Transpose, MatMul, Concat, ReduceMean; Gather of constant indices', () => {
    const m = buildModel({
      nodes: [
        makeNode('Reshape', ['x', 'shape'], ['r'], 'reshape'),
        makeNode('Transpose', ['r'], ['t'], 'transpose', { perm: { ints: [0, 2, 1] } }),
        makeNode('MatMul', ['t', 'M'], ['mm'], 'matmul'),
        makeNode('Concat', ['mm', 'mm'], ['cat'], 'concat', { axis: { int: 1 } }),
        makeNode('ReduceMean', ['cat'], ['mean'], 'mean', { axes: { ints: [-1] }, keepdims: { int: 1 } }),
        makeNode('Gather', ['table', 'idx'], ['rows'], 'gather'),
      ],
      initializers: [int64Tensor('shape', [0, -1, 4]), floatTensor('M', new Float32Array(20), [4, 5]), floatTensor('table', new Float32Array(30), [10, 3]), int64Tensor('idx', [1, 2, 3, 4, 5, 6], [2, 3])],
      inputs: [valueInfo('x', ['b', 6, 2, 2])],
      outputs: [valueInfo('mean', ['b', 'k', 1])],
    });
    const info = inferShapes(new Graph(m));
    // 6·2·2 = 24 per sample, 4 in the last dim → 6; 'b' is kept by the 0.
    expect(info.get('r')!.shape).toEqual(['b', 6, 4]);
    expect(info.get('t')!.shape).toEqual(['b', 4, 6]);
    expect(info.get('mm')!.shape).toEqual(['b', 4, 5]);
    expect(info.get('cat')!.shape).toEqual(['b', 8, 5]);
    expect(info.get('mean')!.shape).toEqual(['b', 8, 1]);
    expect(info.get('rows')!.shape).toEqual([2, 3, 3]);
  });

  it('MatMul [b, 6, 4] × [4, 5] → [b, 6, 5]; Concat on axis 1 adds; ReduceMean keeps a 1', () => {
    const m = buildModel({
      nodes: [
        makeNode('MatMul', ['x', 'M'], ['mm'], 'matmul'),
        makeNode('Concat', ['mm', 'mm'], ['cat'], 'concat', { axis: { int: 1 } }),
        makeNode('ReduceMean', ['cat'], ['mean'], 'mean', { axes: { ints: [-1] }, keepdims: { int: 1 } }),
      ],
      initializers: [floatTensor('M', new Float32Array(20), [4, 5])],
      inputs: [valueInfo('x', ['b', 6, 4])],
      outputs: [valueInfo('mean', ['b', 12, 1])],
    });
    const info = inferShapes(new Graph(m));
    expect(info.get('mm')).toEqual({ elemType: 1, shape: ['b', 6, 5] });
    expect(info.get('cat')!.shape).toEqual(['b', 12, 5]);
    expect(info.get('mean')!.shape).toEqual(['b', 12, 1]);
  });
});
