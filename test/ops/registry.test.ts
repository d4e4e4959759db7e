/**
 * The op registry (src/ops/): one table per op family, merged into OPS, read by shape inference, unit building, the
 * sign and activity analyses, the activation patterns and the gradient pass. The first test pins what the five
 * tables it replaced held (compiler/units.ts ACTIVATIONS, analysis.ts ALWAYS_NONNEG, canonicalize/activations.ts
 * ELEMENTWISE, ops/index.ts NON_DIFFERENTIABLE and the VJP table), so that the move changed no op's classification.
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/ir/graph.js';
import { NON_DIFFERENTIABLE, OPS, VJPS, mergeOpFamilies, opSpec } from '../../src/ops/index.js';
import { sameAsInput, type OpSpec } from '../../src/ops/op.js';
import { inferShapes } from '../../src/ops/shapes.js';
import { NonNegativity } from '../../src/compiler/analysis.js';
import { buildUnits } from '../../src/compiler/units.js';
import { buildModel, floatTensor, int64Tensor, makeNode, valueInfo } from '../helpers/onnx.js';

const sorted = (xs: Iterable<string>) => [...xs].sort();
const where = (f: (s: OpSpec) => boolean) => sorted([...OPS].filter(([, s]) => f(s)).map(([t]) => t));

describe('op registry', () => {
  it('holds what the former per-concern tables held', () => {
    expect(where((s) => s.kind === 'activation')).toEqual(sorted(['Relu', 'LeakyRelu', 'PRelu', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Celu', 'Softplus', 'Softsign', 'Clip', 'Gelu', 'Mish', 'ThresholdedRelu']));
    expect(where((s) => s.inActivationPattern === true)).toEqual(sorted(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sqrt', 'Neg', 'Abs', 'Reciprocal', 'Exp', 'Log', 'Erf', 'Sigmoid', 'Tanh', 'HardSigmoid', 'Relu', 'Clip', 'Softplus', 'LeakyRelu', 'Elu', 'Max', 'Min']));
    expect(sorted(NON_DIFFERENTIABLE)).toEqual(sorted([
      'Shape', 'Size', 'ArgMax', 'ArgMin', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Not', 'And', 'Or',
      'Xor', 'NonZero', 'ConstantOfShape', 'Range', 'Constant', 'Floor', 'Ceil', 'Round', 'Sign', 'IsNaN', 'IsInf',
      'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'EyeLike', 'OneHot', 'TopK', 'Mod',
    ]));
    expect(sorted(Object.keys(VJPS))).toEqual(sorted([
      'Relu', 'LeakyRelu', 'PRelu', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Softplus', 'Softsign', 'Erf',
      'Gelu', 'Clip', 'Softmax', 'LogSoftmax', 'Add', 'Sub', 'Mul', 'Div', 'Sum', 'Neg', 'Pow', 'Sqrt', 'Exp', 'Log',
      'Reciprocal', 'Abs', 'Max', 'Min', 'Where', 'Identity', 'Dropout', 'Cast', 'Conv', 'ConvTranspose', 'Gemm', 'MatMul',
      'LayerNormalization', 'Trilu', 'Einsum', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'Reshape',
      'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Concat', 'Split', 'Slice', 'Gather', 'Pad', 'Expand', 'ReduceSum',
      'ReduceMean', 'BatchNormalization', 'Resize',
    ]));
    // No op is both differentiated and declared gradient-free.
    expect([...NON_DIFFERENTIABLE].filter((t) => VJPS[t])).toEqual([]);
    expect(opSpec('Conv')!.kind).toBe('linear');
    expect(opSpec('AveragePool')!.kind).toBe('pooling');
    expect(opSpec('Reshape')!.kind).toBe('shape-only');
    expect(opSpec('NoSuchOp')).toBeUndefined();
  });

  it('refuses an op declared by two families, naming it', () => {
    const a: Record<string, OpSpec> = { Relu: { kind: 'activation', shape: sameAsInput } };
    const b: Record<string, OpSpec> = { Relu: { kind: 'elementwise' } };
    expect(() => mergeOpFamilies([a, b])).toThrow(/Relu is declared by two op families/);
    expect(mergeOpFamilies([a, { Abs: { kind: 'elementwise' } }]).size).toBe(2);
  });

  it('gives shape inference, unit building and the sign analysis each op’s rules', () => {
    // x → Conv(3×3, pad 1, 4 ch) → Relu → MaxPool(2) → Reshape(0, -1) → MatMul F + B → y;  Neg(x) → n.
    // MatMul of a non-negative tensor with F is not proven non-negative (a MatMul may mix signs): y is not either.
    const w = floatTensor('W', new Float32Array(4 * 2 * 9).fill(0.1), [4, 2, 3, 3]);
    const fc = floatTensor('F', new Float32Array(64 * 3).fill(0.01), [64, 3]);
    const m = buildModel({
      nodes: [
        makeNode('Conv', ['x', 'W'], ['c'], 'conv', { pads: { ints: [1, 1, 1, 1] }, kernel_shape: { ints: [3, 3] } }),
        makeNode('Relu', ['c'], ['r'], 'relu'),
        makeNode('MaxPool', ['r'], ['p'], 'pool', { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }),
        makeNode('Reshape', ['p', 'shape'], ['f'], 'flat'),
        makeNode('MatMul', ['f', 'F'], ['mm'], 'fc'),
        makeNode('Add', ['mm', 'B'], ['y'], 'bias'),
        makeNode('Neg', ['x'], ['n'], 'neg'),
      ],
      initializers: [w, fc, floatTensor('B', Float32Array.from([1, 2, 3]), [3]), int64Tensor('shape', [0, -1], [2])],
      inputs: [valueInfo('x', ['batch', 2, 8, 8])],
      outputs: [valueInfo('y'), valueInfo('n')],
    });
    const g = new Graph(m);
    const info = inferShapes(g);
    expect(info.get('c')!.shape).toEqual(['batch', 4, 8, 8]);
    expect(info.get('p')!.shape).toEqual(['batch', 4, 4, 4]);
    expect(info.get('f')!.shape).toEqual(['batch', 64]);
    expect(info.get('y')!.shape).toEqual(['batch', 3]);
    const units = buildUnits(g, []);
    // Neg is an element-wise function of one tensor: an activation unit (relevance passes, as the z-rule of y = −x gives).
    expect(Object.fromEntries(units.map((u) => [u.name, u.kind]))).toEqual({ conv: 'conv', relu: 'activation', pool: 'other', flat: 'other', 'fc+bias': 'dense', neg: 'activation' });
    expect(units.find((u) => u.name === 'fc+bias')!.linear!.bias!.data).toEqual(Float32Array.from([1, 2, 3]));
    const sign = new NonNegativity(g);
    expect([sign.check('c'), sign.check('r'), sign.check('p'), sign.check('f'), sign.check('y'), sign.check('n')]).toEqual([false, true, true, true, false, false]);
  });
});
