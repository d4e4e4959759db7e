/**
 * Mixed-dtype feeds: declaredInputs, feedFromArray, validateFeed and runFeeds, on value infos built by hand and a
 * two-input model (int64 ids looked up in a table, plus a float input) run by ONNX Runtime.
 */
import { create } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { ValueInfoProtoSchema, type ValueInfoProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { declaredInputs, feedFromArray, validateFeed, type DeclaredInput } from '../../src/runtime/feeds.js';
import { runFeeds } from '../../src/runtime/node.js';
import { InputDataError, RuntimeFailure } from '../../src/errors.js';
import { serializeModel } from '../../src/onnx/model.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';

function info(name: string, elemType: number, dims?: (number | string | undefined)[]): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: {
      value: {
        case: 'tensorType',
        value: {
          elemType,
          shape: dims ? { dim: dims.map((d) => (typeof d === 'number' ? { value: { case: 'dimValue' as const, value: BigInt(d) } } : typeof d === 'string' ? { value: { case: 'dimParam' as const, value: d } } : {})) } : undefined,
        },
      },
    },
  });
}

const want = (dtype: DeclaredInput['dtype'], shape?: DeclaredInput['shape'], elemType = 1): DeclaredInput => ({ name: 'in', dtype, elemType, shape });

describe('declaredInputs', () => {
  it('maps element types to dtypes and dims to numbers, names or null', () => {
    const d = declaredInputs([info('ids', 7, ['batch', 8]), info('mask', 9, [1, undefined]), info('px', 1, [1, 3, 2, 2]), info('pos', 6), info('half', 10, [4])]);
    expect(d).toEqual([
      { name: 'ids', elemType: 7, dtype: 'int64', shape: ['batch', 8] },
      { name: 'mask', elemType: 9, dtype: 'bool', shape: [1, null] },
      { name: 'px', elemType: 1, dtype: 'float32', shape: [1, 3, 2, 2] },
      { name: 'pos', elemType: 6, dtype: 'int32', shape: undefined },
      { name: 'half', elemType: 10, dtype: undefined, shape: [4] },
    ]);
  });
});

describe('feedFromArray', () => {
  it('float32 from float arrays (float64 narrowed), values kept', () => {
    const f = feedFromArray('px', { dtype: 'float64', shape: [1, 3], data: Float64Array.from([0.5, -2, 1e-3]) }, want('float32'));
    expect(f.dtype).toBe('float32');
    expect(f.dims).toEqual([1, 3]);
    expect(Array.from(f.data as Float32Array)).toEqual([0.5, -2, Math.fround(1e-3)]);
  });

  it('int64 from int32, int32 from int64, and ids from bools and uint8', () => {
    const a = feedFromArray('ids', { dtype: 'int32', shape: [3], data: Int32Array.from([7, 0, 30521]) }, want('int64'));
    expect(a.data).toEqual(BigInt64Array.from([7n, 0n, 30521n]));
    const b = feedFromArray('ids', { dtype: 'int64', shape: [2], data: BigInt64Array.from([5n, -1n]) }, want('int32'));
    expect(b.data).toEqual(Int32Array.from([5, -1]));
    const c = feedFromArray('mask', { dtype: 'bool', shape: [3], data: Uint8Array.from([1, 0, 1]) }, want('int64'));
    expect(c.data).toEqual(BigInt64Array.from([1n, 0n, 1n]));
    const u = feedFromArray('ids', { dtype: 'uint8', shape: [2], data: Uint8Array.from([200, 3]) }, want('int32'));
    expect(u.data).toEqual(Int32Array.from([200, 3]));
  });

  it('bool from any numbers: non-zero is 1', () => {
    const f = feedFromArray('mask', { dtype: 'float32', shape: [4], data: Float32Array.from([0, 0.5, -1, 0]) }, want('bool'));
    expect(f).toEqual({ dtype: 'bool', data: Uint8Array.from([0, 1, 1, 0]), dims: [4] });
    const g = feedFromArray('mask', { dtype: 'int64', shape: [2], data: BigInt64Array.from([0n, 9n]) }, want('bool'));
    expect(g.data).toEqual(Uint8Array.from([0, 1]));
  });

  it('never truncates floats into ids, never reads int64 as pixels, and refuses types it cannot feed', () => {
    expect(() => feedFromArray('ids', { dtype: 'float32', shape: [1], data: Float32Array.of(1.5) }, want('int64'))).toThrow(/input 'ids': the model takes int64.*holds float32/);
    expect(() => feedFromArray('px', { dtype: 'int64', shape: [1], data: BigInt64Array.of(1n) }, want('float32'))).toThrow(InputDataError);
    expect(() => feedFromArray('half', { dtype: 'float32', shape: [1], data: Float32Array.of(1) }, want(undefined, undefined, 10))).toThrow(/element type 10/);
  });
});

describe('validateFeed', () => {
  const ok = { dtype: 'float32' as const, data: Float32Array.from([1, 2, 3, 4, 5, 6]), dims: [2, 3] };

  it('accepts a feed matching dtype and static dims (symbolic dims match anything)', () => {
    expect(() => validateFeed('x', ok, want('float32', ['batch', 3]))).not.toThrow();
    expect(() => validateFeed('x', ok, want('float32', [null, null]))).not.toThrow();
    expect(() => validateFeed('x', ok, want('float32'))).not.toThrow();
  });

  it('rejects other dtypes, short data, other shapes and NaN/Inf, naming the input and index', () => {
    expect(() => validateFeed('x', ok, want('int64', ['batch', 3]))).toThrow("input 'x' is float32, but the model expects int64");
    expect(() => validateFeed('x', { ...ok, dims: [2, 4] }, want('float32'))).toThrow("input 'x': 6 values do not fill shape [2, 4]");
    expect(() => validateFeed('x', ok, want('float32', ['batch', 4]))).toThrow("input 'x' has shape [2, 3], but the model expects [batch, 4]");
    expect(() => validateFeed('x', ok, want('float32', [2, 3, 1]))).toThrow(/expects \[2, 3, 1\]/);
    const bad = { ...ok, data: Float32Array.from([1, 2, 3, 4, Number.POSITIVE_INFINITY, 6]) };
    expect(() => validateFeed('x', bad, want('float32'))).toThrow("input 'x' contains a non-finite value (Infinity) at flat index 4");
    // Integer feeds have no NaN to look for.
    expect(() => validateFeed('ids', { dtype: 'int64', data: BigInt64Array.from([1n, 2n]), dims: [1, 2] }, want('int64', [1, 2], 7))).not.toThrow();
  });
});

describe('runFeeds', () => {
  /** y = T[ids] + x (T: 4 × 2), and the arg-max over the last axis as an int64 output. */
  async function session() {
    const model = buildModel({
      nodes: [makeNode('Gather', ['T', 'ids'], ['rows'], 'lookup'), makeNode('Add', ['rows', 'x'], ['y'], 'add'), makeNode('ArgMax', ['y'], ['best'], 'argmax', { axis: { int: 1 }, keepdims: { int: 0 } })],
      initializers: [floatTensor('T', Float32Array.from([0, 1, 10, 11, 20, 21, 30, 31]), [4, 2])],
      inputs: [info('ids', 7, [3]), valueInfo('x', [3, 2])],
      outputs: [valueInfo('y', [3, 2]), info('best', 7, [3])],
    });
    return ort.InferenceSession.create(serializeModel(model));
  }

  it('feeds int64 and float tensors and returns float32 outputs, integer outputs converted', async () => {
    const s = await session();
    const out = await runFeeds(s, { ids: { dtype: 'int64', data: BigInt64Array.from([3n, 0n, 2n]), dims: [3] }, x: { data: Float32Array.from([0.5, -0.5, 1, 2, 0, 0]), dims: [3, 2] } });
    expect(out.y!.dims).toEqual([3, 2]);
    expect(Array.from(out.y!.data)).toEqual([30.5, 30.5, 1, 3, 20, 21]);
    expect(out.best!.data).toBeInstanceOf(Float32Array);
    expect(Array.from(out.best!.data)).toEqual([0, 1, 1]);
    const only = await runFeeds(s, { ids: { dtype: 'int64', data: BigInt64Array.from([1n, 1n, 1n]), dims: [3] }, x: { data: new Float32Array(6), dims: [3, 2] } }, ['best']);
    expect(Object.keys(only)).toEqual(['best']);
    expect(Array.from(only.best!.data)).toEqual([1, 1, 1]);
    await s.release();
  });

  it('an ONNX Runtime error becomes a RuntimeFailure with a hint', async () => {
    const s = await session();
    const err = await runFeeds(s, { ids: { dtype: 'int64', data: BigInt64Array.from([0n, 0n, 0n]), dims: [3] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeFailure);
    expect((err as RuntimeFailure).exitCode).toBe(4);
    expect((err as RuntimeFailure).message).toMatch(/^ONNX Runtime failed while running: /);
    expect((err as RuntimeFailure).hint).toMatch(/names, dtypes, shapes/);
    await s.release();
  });
});
