import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { TensorProtoSchema, TensorProto_DataType as DT, type TensorProto } from 'onnx-buf';
import { convertToFloat32, lowPrecisionToFloat32, precisionNote } from '../../src/onnx/precision.js';
import { parseModel, serializeModel } from '../../src/onnx/model.js';
import { decodeTensor } from '../../src/onnx/tensor.js';
import { explain } from '../../src/methods/explain.js';
import { buildModel, makeNode, valueInfo } from '../helpers/onnx.js';

/** float32 → IEEE half bits (round to nearest even), for building fixtures. */
function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const e = ((x >>> 23) & 0xff) - 127 + 15;
  const m = x & 0x7fffff;
  if (e <= 0) return sign | Math.round((m | 0x800000) / 2 ** (14 - e));
  const r = Math.round(m / 8192);
  return sign | ((e << 10) + r);
}

function halfTensor(name: string, values: number[], dims: number[], type: DT = DT.FLOAT16): TensorProto {
  const raw = new Uint8Array(values.length * 2);
  values.forEach((v, i) => {
    const h = type === DT.BFLOAT16 ? new Uint32Array(new Float32Array([v]).buffer)[0]! >>> 16 : toHalf(v);
    raw[2 * i] = h & 0xff;
    raw[2 * i + 1] = h >> 8;
  });
  return create(TensorProtoSchema, { name, dataType: type, dims: dims.map(BigInt), rawData: raw });
}

/** x [1, 3] (float16) · W [3, 2] (float16) → y (float16): a model that computes in half precision throughout. */
function halfModel(type: DT) {
  const m = buildModel({
    nodes: [makeNode('MatMul', ['x', 'W'], ['y'], 'mm')],
    initializers: [halfTensor('W', [0.5, -1.25, 2, 0.375, -3, 1], [3, 2], type)],
    inputs: [valueInfo('x', [1, 3])],
    outputs: [valueInfo('y', [1, 2])],
  });
  for (const vi of [...m.graph!.input, ...m.graph!.output]) if (vi.type?.value.case === 'tensorType') vi.type.value.value.elemType = type;
  return m;
}

describe('float16 / bfloat16 models run in float32', () => {
  it('widens half and bfloat16 tensors exactly (raw bytes and int32_data)', () => {
    const h = lowPrecisionToFloat32(halfTensor('h', [1, -2.5, 65504, 2 ** -24, 0.1], [5]));
    expect(Array.from(decodeTensor(h).data as Float32Array)).toEqual([1, -2.5, 65504, 2 ** -24, Math.fround(0.0999755859375)]);
    const b = lowPrecisionToFloat32(halfTensor('b', [1, -2.5, 3.140625], [3], DT.BFLOAT16));
    expect(Array.from(decodeTensor(b).data as Float32Array)).toEqual([1, -2.5, 3.140625]);
    const viaInts = create(TensorProtoSchema, { name: 'i', dataType: DT.FLOAT16, dims: [2n], int32Data: [0x3c00, 0xc000] });
    expect(Array.from(decodeTensor(lowPrecisionToFloat32(viaInts)).data as Float32Array)).toEqual([1, -2]);
  });

  it('converts weights, Casts, ConstantOfShape values and declared types, and records a note', () => {
    const m = buildModel({
      nodes: [
        makeNode('Cast', ['x'], ['xh'], 'to_half', { to: { int: DT.FLOAT16 } }),
        makeNode('Mul', ['xh', 'k'], ['yh'], 'scale'),
        makeNode('Cast', ['yh'], ['y'], 'to_float', { to: { int: DT.FLOAT } }),
      ],
      initializers: [halfTensor('k', [0.5], [])],
      inputs: [valueInfo('x', [1, 2])],
      outputs: [valueInfo('y', [1, 2])],
    });
    const note = convertToFloat32(m);
    expect(note).toMatch(/1 constant tensors, 1 casts, 0 declared types\): the explanation runs in float32/);
    expect(m.graph!.initializer[0]!.dataType).toBe(DT.FLOAT);
    expect(Number(m.graph!.node[0]!.attribute[0]!.i)).toBe(DT.FLOAT);
    expect(precisionNote(m)).toBe(note);
    // A float32 model is left alone.
    expect(convertToFloat32(buildModel({ nodes: [makeNode('Relu', ['x'], ['y'], 'r')], inputs: [valueInfo('x', [1])], outputs: [valueInfo('y', [1])] }))).toBeUndefined();
  });

  it.each([DT.FLOAT16, DT.BFLOAT16])('a model in data type %i explains in float32: gradient = W row of the target, with the note kept', async (type) => {
    const model = parseModel(serializeModel(halfModel(type)));
    expect(precisionNote(model)).toMatch(/float32/);
    expect(model.graph!.input[0]!.type!.value.value!.elemType).toBe(DT.FLOAT);
    const e = await explain(model, { data: Float32Array.of(1, 2, 3), dims: [1, 3] }, { method: 'gradient', target: 1 });
    expect(Array.from(e.attribution.data)).toEqual(type === DT.FLOAT16 ? [-1.25, 0.375, 1] : [-1.25, 0.375, 1]);
    expect(Array.from(e.scores.data)).toEqual([0.5 + 4 - 9, -1.25 + 0.75 + 3]);
  });
});
