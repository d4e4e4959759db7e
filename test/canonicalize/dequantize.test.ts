/**
 * The dequantize canonicaliser on the three formats quantised ONNX models come in — onnxruntime's dynamic
 * quantisation (DynamicQuantizeLinear + ConvInteger/MatMulInteger), QOperator (QLinearConv/QLinearMatMul) and QDQ
 * (QuantizeLinear/DequantizeLinear around float ops). Each quantised model is run by ONNX Runtime as it is, and
 * rewritten to float32: the float graph computes exactly the float model with the dequantised weights, and
 * approximates the quantised model within its activation rounding. LRP and the gradient then compile and run.
 */
import { create } from '@bufbuild/protobuf';
import { TensorProtoSchema, TensorProto_DataType as DT, type ModelProto, type TensorProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import { canonicalize } from '../../src/canonicalize/index.js';
import { explain } from '../../src/methods/explain.js';
import { buildModel, floatTensor, int64Tensor, makeNode, relErr, rng, runModel, uniform, valueInfo } from '../helpers/onnx.js';
import { graphOf } from './helpers.js';

/** An integer tensor (raw little-endian data) of a quantised model. */
function intTensor(name: string, type: DT.INT8 | DT.UINT8 | DT.INT32, values: readonly number[], dims: readonly number[]): TensorProto {
  const bytes = type === DT.INT32 ? new Uint8Array(Int32Array.from(values).buffer) : type === DT.INT8 ? new Uint8Array(Int8Array.from(values).buffer) : Uint8Array.from(values);
  return create(TensorProtoSchema, { name, dataType: type, dims: dims.map(BigInt), rawData: bytes });
}

const r = rng(5);
const C = 4;
const K = 3;
// Conv weights [C, 1, 3, 3] as uint8 with a zero point per output channel; scales per channel.
const wq = Array.from({ length: C * 9 }, () => Math.floor(r() * 256));
const wzp = [128, 120, 131, 127];
const ws = [0.01, 0.02, 0.015, 0.012];
const bias = Array.from({ length: C }, () => r() - 0.5);
// Dense weights [C·6·6, K] as uint8, zero point 128, one scale.
const D = C * 6 * 6;
const mq = Array.from({ length: D * K }, () => Math.floor(r() * 256));
const ms = 0.004;
const mbias = [0.1, -0.2, 0.05];

const wFloat = Float32Array.from(wq, (q, i) => (q - wzp[Math.floor(i / 9)]!) * ws[Math.floor(i / 9)]!);
const mFloat = Float32Array.from(mq, (q) => (q - 128) * ms);

// onnxruntime's ConvInteger takes one zero point for all weights.
const wFloatDynamic = Float32Array.from(wq, (q, i) => (q - 128) * ws[Math.floor(i / 9)]!);

/** The float model the quantised ones approximate: Conv → Relu → Flatten → MatMul + bias. */
function floatModel(w = wFloat, denseBias: readonly number[] = mbias): ModelProto {
  return buildModel({
    inputs: [valueInfo('x', [1, 1, 8, 8])],
    outputs: [valueInfo('y', [1, K])],
    initializers: [floatTensor('W', w, [C, 1, 3, 3]), floatTensor('B', Float32Array.from(bias), [C]), floatTensor('M', mFloat, [D, K]), floatTensor('mb', Float32Array.from(denseBias), [K])],
    nodes: [
      makeNode('Conv', ['x', 'W', 'B'], ['c'], 'conv', { kernel_shape: { ints: [3, 3] } }),
      makeNode('Relu', ['c'], ['h'], 'relu'),
      makeNode('Flatten', ['h'], ['f'], 'flatten'),
      makeNode('MatMul', ['f', 'M'], ['m'], 'dense'),
      makeNode('Add', ['m', 'mb'], ['y'], 'dense_bias'),
    ],
  });
}

/**
 * What onnxruntime.quantization.quantize_dynamic writes for the same model; `twoStep` rescales by x_scale and by the
 * weight scale in two Muls (a form the canonicaliser cannot fold into the weights, so it only drops x_scale).
 */
function dynamicModel(twoStep = false): ModelProto {
  return buildModel({
    inputs: [valueInfo('x', [1, 1, 8, 8])],
    outputs: [valueInfo('y', [1, K])],
    initializers: [
      intTensor('Wq', DT.UINT8, wq, [C, 1, 3, 3]),
      intTensor('Wzp', DT.UINT8, [128], []),
      floatTensor('Ws', Float32Array.from(ws), [C]),
      int64Tensor('cshape', [1, C, 1, 1]),
      floatTensor('B', Float32Array.from(bias), [1, C, 1, 1]),
      intTensor('Mq', DT.UINT8, mq, [D, K]),
      intTensor('Mzp', DT.UINT8, [128], []),
      floatTensor('Ms', Float32Array.of(ms), []),
      floatTensor('mb', Float32Array.from(mbias), [K]),
    ],
    nodes: [
      makeNode('DynamicQuantizeLinear', ['x'], ['xq', 'xs', 'xzp'], 'x_quant'),
      makeNode('ConvInteger', ['xq', 'Wq', 'xzp', 'Wzp'], ['ci'], 'conv_int', { kernel_shape: { ints: [3, 3] } }),
      makeNode('Cast', ['ci'], ['cf'], 'conv_cast', { to: { int: 1 } }),
      ...(twoStep
        ? [makeNode('Mul', ['cf', 'xs'], ['cx'], 'conv_rescale_x'), makeNode('Reshape', ['Ws', 'cshape'], ['ws4'], 'conv_scale_reshape'), makeNode('Mul', ['cx', 'ws4'], ['cs'], 'conv_rescale')]
        : [makeNode('Mul', ['xs', 'Ws'], ['cscale'], 'conv_scale'), makeNode('Reshape', ['cscale', 'cshape'], ['cscale4'], 'conv_scale_reshape'), makeNode('Mul', ['cf', 'cscale4'], ['cs'], 'conv_rescale')]),
      makeNode('Add', ['cs', 'B'], ['c'], 'conv_bias'),
      makeNode('Relu', ['c'], ['h'], 'relu'),
      makeNode('Flatten', ['h'], ['f'], 'flatten'),
      makeNode('DynamicQuantizeLinear', ['f'], ['fq', 'fs', 'fzp'], 'f_quant'),
      makeNode('MatMulInteger', ['fq', 'Mq', 'fzp', 'Mzp'], ['mi'], 'dense_int'),
      makeNode('Cast', ['mi'], ['mf'], 'dense_cast', { to: { int: 1 } }),
      makeNode('Mul', ['fs', 'Ms'], ['mscale'], 'dense_scale'),
      makeNode('Mul', ['mf', 'mscale'], ['m'], 'dense_rescale'),
      makeNode('Add', ['m', 'mb'], ['y'], 'dense_bias'),
    ],
  });
}

/** QOperator format with static activation scales (its dense layer has no bias). */
function qoperatorModel(): ModelProto {
  const xs = 0.02;
  // Wide enough that no hidden value saturates (the rewrite keeps saturation: a narrower range would clip h).
  const hs = 0.2;
  const ys = 0.1;
  return buildModel({
    inputs: [valueInfo('x', [1, 1, 8, 8])],
    outputs: [valueInfo('y', [1, K])],
    initializers: [
      floatTensor('xs', Float32Array.of(xs), []),
      intTensor('xzp', DT.UINT8, [128], []),
      intTensor('Wq', DT.UINT8, wq, [C, 1, 3, 3]),
      intTensor('Wzp', DT.UINT8, wzp, [C]),
      floatTensor('Ws', Float32Array.from(ws), [C]),
      floatTensor('hs', Float32Array.of(hs), []),
      intTensor('hzp', DT.UINT8, [0], []),
      intTensor('Bq', DT.INT32, bias.map((b, o) => Math.round(b / (xs * ws[o]!))), [C]),
      intTensor('Mq', DT.UINT8, mq, [D, K]),
      floatTensor('Ms', Float32Array.of(ms), []),
      intTensor('Mzp', DT.UINT8, [128], []),
      floatTensor('ys', Float32Array.of(ys), []),
      intTensor('yzp', DT.UINT8, [128], []),
    ],
    nodes: [
      makeNode('QuantizeLinear', ['x', 'xs', 'xzp'], ['xq'], 'x_q'),
      makeNode('QLinearConv', ['xq', 'xs', 'xzp', 'Wq', 'Ws', 'Wzp', 'hs', 'hzp', 'Bq'], ['hq'], 'qconv', { kernel_shape: { ints: [3, 3] } }),
      makeNode('Flatten', ['hq'], ['fq'], 'flatten'),
      makeNode('QLinearMatMul', ['fq', 'hs', 'hzp', 'Mq', 'Ms', 'Mzp', 'ys', 'yzp'], ['yq'], 'qdense'),
      makeNode('DequantizeLinear', ['yq', 'ys', 'yzp'], ['y'], 'y_dq'),
    ],
  });
}

/** QDQ format: float ops between QuantizeLinear/DequantizeLinear pairs, weights as DequantizeLinear of constants. */
function qdqModel(): ModelProto {
  return buildModel({
    inputs: [valueInfo('x', [1, 1, 8, 8])],
    outputs: [valueInfo('y', [1, K])],
    initializers: [
      floatTensor('xs', Float32Array.of(0.02), []),
      intTensor('xzp', DT.UINT8, [128], []),
      intTensor('Wq', DT.UINT8, wq, [C, 1, 3, 3]),
      intTensor('Wzp', DT.UINT8, wzp, [C]),
      floatTensor('Ws', Float32Array.from(ws), [C]),
      floatTensor('B', Float32Array.from(bias), [C]),
      intTensor('Mq', DT.UINT8, mq, [D, K]),
      floatTensor('Ms', Float32Array.of(ms), []),
      intTensor('Mzp', DT.UINT8, [128], []),
      floatTensor('mb', Float32Array.from(mbias), [K]),
    ],
    nodes: [
      makeNode('QuantizeLinear', ['x', 'xs', 'xzp'], ['xq'], 'x_q'),
      makeNode('DequantizeLinear', ['xq', 'xs', 'xzp'], ['xd'], 'x_dq'),
      makeNode('DequantizeLinear', ['Wq', 'Ws', 'Wzp'], ['W'], 'w_dq', { axis: { int: 0 } }),
      makeNode('Conv', ['xd', 'W', 'B'], ['c'], 'conv', { kernel_shape: { ints: [3, 3] } }),
      makeNode('Relu', ['c'], ['h'], 'relu'),
      makeNode('Flatten', ['h'], ['f'], 'flatten'),
      makeNode('DequantizeLinear', ['Mq', 'Ms', 'Mzp'], ['M'], 'm_dq'),
      makeNode('MatMul', ['f', 'M'], ['m'], 'dense'),
      makeNode('Add', ['m', 'mb'], ['y'], 'dense_bias'),
    ],
  });
}

const x = uniform(rng(9), 64, -1, 1);
const feeds = { x: { data: x, dims: [1, 1, 8, 8] } };

async function dequantized(m: ModelProto): Promise<{ model: ModelProto; reports: string[] }> {
  const g = graphOf(m);
  const { reports } = canonicalize(g);
  return { model: g.model, reports: reports.filter((r) => r.canonicalizer === 'dequantize').map((r) => r.detail) };
}

describe('dequantize', () => {
  for (const [name, build, quantError, expected, reference] of [
    ['dynamic (DynamicQuantizeLinear + ConvInteger/MatMulInteger)', () => dynamicModel(), 0.05, [/ConvInteger → Conv of the float input with the dequantised weights and bias/, /MatMulInteger → MatMul of the float input with the dequantised weights/], () => floatModel(wFloatDynamic)],
    ['dynamic, rescaled in two steps', () => dynamicModel(true), 0.05, [/ConvInteger → Conv of the float input with zero-point-corrected weights/], () => floatModel(wFloatDynamic)],
    ['QOperator (QLinearConv/QLinearMatMul)', qoperatorModel, 0.1, [/QLinearConv → Conv/, /QLinearMatMul → MatMul/, /replaced by Clip to its range \[0\.000, 51\.00\]/], () => floatModel(wFloat, [0, 0, 0])],
    ['QDQ (Q/DQ pairs, DequantizeLinear weights)', qdqModel, 0.05, [/DequantizeLinear of the constant 'Wq'/, /DequantizeLinear of the constant 'Mq'/, /replaced by Clip/], () => floatModel()],
  ] as const) {
    it(`${name}: rewritten to float32, the float model's function, explained by LRP and the gradient`, async () => {
      const quantised = build();
      const { model, reports } = await dequantized(quantised);
      for (const re of expected) expect(reports.some((d) => re.test(d)), `${re} in ${JSON.stringify(reports)}`).toBe(true);
      // No integer arithmetic is left.
      const ops = model.graph!.node.map((n) => n.opType);
      for (const q of ['DynamicQuantizeLinear', 'ConvInteger', 'MatMulInteger', 'QLinearConv', 'QLinearMatMul', 'QuantizeLinear', 'DequantizeLinear', 'Cast']) expect(ops).not.toContain(q);
      const yq = (await runModel(quantised, feeds)).y!.data;
      const yFloat = (await runModel(reference(), feeds)).y!.data;
      const yd = (await runModel(model, feeds)).y!.data;
      // The rewritten graph is the float model (QOperator's bias went through int32 rounding: a little looser).
      expect(relErr(yd, yFloat)).toBeLessThan(name.startsWith('QOperator') ? 2e-3 : 1e-5);
      // …and the quantised model approximates it within its activation rounding.
      expect(relErr(yq, yFloat)).toBeLessThan(quantError);
      expect(relErr(yq, yFloat)).toBeGreaterThan(0);
      for (const method of ['lrp', 'gradient'] as const) {
        const e = await explain(quantised, { data: x, dims: [1, 1, 8, 8] }, { method, target: 0 });
        expect(e.attribution.data.every(Number.isFinite)).toBe(true);
        expect(e.attribution.data.some((v) => v !== 0)).toBe(true);
        // In the two-step form the rescaling and the bias stay separate nodes, which LRP's rules treat as layers of
        // their own: only the gradient is the float model's there.
        if (method === 'lrp' && name.includes('two steps')) continue;
        const ref = await explain(reference(), { data: x, dims: [1, 1, 8, 8] }, { method, target: 0 });
        expect(relErr(e.attribution.data, ref.attribution.data)).toBeLessThan(name.startsWith('QOperator') ? 5e-3 : 1e-4);
      }
    });
  }
});
