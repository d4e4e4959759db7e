/**
 * The failures the 20,000-case fuzz run (`npm run fuzz`, seed 1) found, minimised by hand to the smallest model that
 * shows each root cause, plus the original cases replayed through the fuzz runner. Each must now be a typed xsys
 * error (or compile), never a foreign exception, a hang or a crash. Found before the fix as:
 *   #4131, #12399, #15883  RangeError "NaN cannot be converted to a BigInt" (window attributes of the wrong length)
 *   #18888                 RangeError "32.1… cannot be converted to a BigInt" (an inferred dim that is no integer)
 *   #8099                  RangeError "Invalid array length" (LayerNormalization axis −2⁵⁹)
 *   #11031                 RangeError "Invalid array length" (Gemm's C of higher rank than its output)
 *   #9875                  hang (Transpose perm [2³¹, 0, 10¹²])
 *   #3246, #19260          crash in the mutator itself (a Float32Array over raw data of odd length)
 * and of seed 7:
 *   #4747, #11587, #11943  RangeError "-0.17… cannot be converted to a BigInt" (float axes / pads inputs)
 */
import { create } from '@bufbuild/protobuf';
import { AttributeProtoSchema, AttributeProto_AttributeType as AT, type ModelProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import { runFuzz, summary } from '../fuzz/runner.js';
import { runTarget } from '../fuzz/target.js';
import type { AttrValue } from '../../src/onnx/attributes.js';
import { serializeModel } from '../../src/onnx/model.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';

const ones = (n: number) => new Float32Array(n).fill(0.5);

/** x [1, 2, 5, 5] → Conv 3×3 (attributes as given) → Flatten → Gemm → y [1, 2]. */
function convModel(attrs: Record<string, AttrValue>, raw?: (m: ModelProto) => void): Uint8Array {
  const m = buildModel({
    nodes: [
      makeNode('Conv', ['x', 'w'], ['c'], 'conv', attrs),
      makeNode('Flatten', ['c'], ['f'], 'flat'),
      makeNode('Gemm', ['f', 'fw'], ['y'], 'fc', { transB: { int: 1 } }),
    ],
    initializers: [floatTensor('w', ones(2 * 2 * 9), [2, 2, 3, 3]), floatTensor('fw', ones(2 * 18), [2, 18])],
    inputs: [valueInfo('x', [1, 2, 5, 5])],
    outputs: [valueInfo('y', [1, 2])],
  });
  raw?.(m);
  return serializeModel(m);
}

const expectXsys = (bytes: Uint8Array, re: RegExp) => {
  const o = runTarget(bytes);
  expect(o.kind, JSON.stringify(o)).toBe('xsys');
  expect(o.kind === 'xsys' && o.message).toMatch(re);
};

describe('fuzz regressions, minimised', () => {
  it('the unmodified minimal conv model compiles (the cases below differ from it in one attribute)', () => {
    expect(runTarget(convModel({ kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }))).toEqual({ kind: 'ok' });
  });

  it('#4131: dilations typed INTS but holding only an int (no values) is refused when read', () => {
    const bytes = convModel({ kernel_shape: { ints: [3, 3] } }, (m) => {
      m.graph!.node[0]!.attribute.push(create(AttributeProtoSchema, { name: 'dilations', type: AT.INTS, i: -2n }));
    });
    expectXsys(bytes, /conv.*'dilations' has 0 values/);
  });

  it('#15883: pads with 3 values for 2 spatial axes, and strides of 0, are refused when read', () => {
    expectXsys(convModel({ kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1] } }), /'pads' has 3 values/);
    expectXsys(convModel({ kernel_shape: { ints: [3, 3] }, strides: { ints: [0, 1] } }), /'strides' holds 0/);
    expectXsys(convModel({ kernel_shape: { ints: [3, 3] }, strides: { ints: [1, 1, 1] } }), /'strides' has 3 values, but kernel_shape has 2/);
  });

  it('#9875: a Transpose perm that is no permutation is refused when read (it hung the compiler)', () => {
    const m = buildModel({
      nodes: [makeNode('Transpose', ['x'], ['t'], 'tr', { perm: { ints: [2 ** 31, 0, 1e12] } }), makeNode('Flatten', ['t'], ['y'], 'flat')],
      inputs: [valueInfo('x', [1, 2, 3])],
      outputs: [valueInfo('y', [1, 6])],
    });
    expectXsys(serializeModel(m), /'perm' \[2147483648, 0, 1000000000000\] is not a permutation/);
  });

  it('#8099: a LayerNormalization axis of −2⁵⁹ is refused when read', () => {
    const m = buildModel({
      nodes: [makeNode('LayerNormalization', ['x', 'g', 'b'], ['y'], 'ln', { axis: { int: -(2 ** 59) } })],
      initializers: [floatTensor('g', ones(4), [4]), floatTensor('b', ones(4), [4])],
      inputs: [valueInfo('x', [1, 4])],
      outputs: [valueInfo('y', [1, 4])],
    });
    expectXsys(serializeModel(m), /'axis' is -576460752303423488, beyond any tensor's rank/);
  });

  it('#18888: an inferred dimension that is no integer (Split of 7 into 2) becomes unknown, not an int64 of 3.5', () => {
    const m = buildModel({
      nodes: [makeNode('Split', ['x'], ['a', 'b'], 'split', { axis: { int: 1 } }), makeNode('Relu', ['a'], ['y'], 'relu')],
      inputs: [valueInfo('x', [1, 7])],
      outputs: [valueInfo('y')],
      opset: 13,
    });
    const o = runTarget(serializeModel(m));
    expect(o.kind, JSON.stringify(o)).not.toBe('foreign');
  });

  it('seed 7 #4747: a float tensor as the axes input of ReduceSum (or the pads of Pad) is a typed error', () => {
    const m = buildModel({
      nodes: [makeNode('ReduceSum', ['x', 'axes'], ['y'], 'sum', { keepdims: { int: 0 } })],
      initializers: [floatTensor('axes', new Float32Array([0.5]), [1])],
      inputs: [valueInfo('x', [1, 4])],
      outputs: [valueInfo('y')],
      opset: 13,
    });
    expectXsys(serializeModel(m), /'sum' \(ReduceSum\): its axes input is not an integer tensor/);
  });

  it("#11031: Gemm's C of rank 4 broadcast into a rank-2 output is a typed error", () => {
    const m = buildModel({
      nodes: [makeNode('Relu', ['x'], ['r'], 'relu'), makeNode('Flatten', ['r'], ['f'], 'flat'), makeNode('Gemm', ['f', 'w', 'r'], ['y'], 'fc', { transB: { int: 1 } })],
      initializers: [floatTensor('w', ones(2 * 4), [2, 4])],
      inputs: [valueInfo('x', [1, 1, 2, 2])],
      outputs: [valueInfo('y', [1, 2])],
    });
    expectXsys(serializeModel(m), /'r' has rank 4, but 'y'.*has rank 2/);
  });
});

describe('fuzz regressions, the original cases of seeds 1 and 7', () => {
  it('replay: only xsys errors, no hangs, no crashes', async () => {
    const found: [number, number][] = [[1, 4131], [1, 12399], [1, 15883], [1, 18888], [1, 8099], [1, 11031], [1, 9875], [1, 3246], [1, 19260], [7, 4747], [7, 11587], [7, 11943]];
    const reports = [];
    for (const [seed, i] of found) reports.push(await runFuzz({ seed, first: i, cases: 1, workers: 1, caseTimeoutMs: 30_000 }));
    for (const r of reports) {
      expect(r.foreign, summary(r)).toEqual([]);
      expect(r.hangs, summary(r)).toEqual([]);
      expect(r.crashes, summary(r)).toEqual([]);
      expect(r.ok + r.xsysErrors).toBe(1);
    }
  }, 300_000);
});
