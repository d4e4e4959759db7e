/**
 * MultiInputExplainer and scoreRows on a bag-of-embeddings classifier small enough to explain by hand:
 * y = mean_t(E[ids_t]) · Wt + extra, with int64 token ids and a float input `extra`.
 */
import { create } from '@bufbuild/protobuf';
import { ValueInfoProtoSchema, type ModelProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { batchAxes, FEEDS_METHODS, MultiInputExplainer, scoreRows } from '../../src/methods/multi-input.js';
import type { Feed } from '../../src/runtime/feeds.js';
import { InputDataError, InvalidArgumentError } from '../../src/errors.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';

/** Embedding table, 5 tokens × 2 hidden. */
const E = [
  [0, 0],
  [1, 2],
  [-1, 0.5],
  [3, -1],
  [0.5, 0.5],
];
/** Head, 2 hidden × 3 classes. */
const Wt = [
  [1, 0, -1],
  [2, 1, 0.5],
];

function int64Info(name: string, dims: (number | string)[]) {
  return create(ValueInfoProtoSchema, {
    name,
    type: { value: { case: 'tensorType', value: { elemType: 7, shape: { dim: dims.map((d) => (typeof d === 'number' ? { value: { case: 'dimValue' as const, value: BigInt(d) } } : { value: { case: 'dimParam' as const, value: d } })) } } } },
  });
}

function bagModel(tokens: number | string = 3, pooledOutput = false): ModelProto {
  return buildModel({
    nodes: [
      makeNode('Gather', ['E', 'input_ids'], ['emb'], 'embed'),
      makeNode('ReduceMean', ['emb'], ['pooled'], 'pool', { axes: { ints: [1] }, keepdims: { int: 0 } }),
      makeNode('MatMul', ['pooled', 'Wt'], ['l0'], 'head'),
      makeNode('Add', ['l0', 'extra'], ['y'], 'add'),
    ],
    initializers: [floatTensor('E', Float32Array.from(E.flat()), [5, 2]), floatTensor('Wt', Float32Array.from(Wt.flat()), [2, 3])],
    inputs: [int64Info('input_ids', ['B', tokens]), valueInfo('extra', ['B', 3])],
    outputs: [valueInfo('y', ['B', 3]), ...(pooledOutput ? [valueInfo('pooled', ['B', 2])] : [])],
  });
}

const ids = (values: number[], dims = [1, values.length]): Feed => ({ dtype: 'int64', data: BigInt64Array.from(values.map(BigInt)), dims });
const floats = (values: number[], dims: number[]): Feed => ({ dtype: 'float32', data: Float32Array.from(values), dims });

/** Per-token relevance by hand: embedding ⊙ gradient summed over hidden, the gradient at a token being Wt[:, c] / T. */
function tokenByHand(tokens: number[], c: number): number[] {
  return tokens.map((id) => (E[id]![0]! * Wt[0]![c]! + E[id]![1]! * Wt[1]![c]!) / tokens.length);
}

function expectClose(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!), `element ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThan(tol * Math.max(1, Math.abs(expected[i]!)));
}

describe('MultiInputExplainer', () => {
  it('reads the inputs, the token lookup and the sequence limit off the graph', async () => {
    const mx = await MultiInputExplainer.load(bagModel());
    expect(mx.inputs.map((i) => [i.name, i.dtype])).toEqual([['input_ids', 'int64'], ['extra', 'float32']]);
    expect(mx.embeddings.map((e) => [e.input, e.vocabSize, e.hidden])).toEqual([['input_ids', 5, 2]]);
    expect(mx.maxSequence).toBe(3);
    expect(mx.scoresName).toBe('y');
    expect((await MultiInputExplainer.load(bagModel('T'))).maxSequence).toBeUndefined();
  });

  it('scores: mean embedding · Wt + extra (ids 1, 3, 4: mean (1.5, 0.5) → 2.5, 0.5, −1.25)', async () => {
    const mx = await MultiInputExplainer.load(bagModel());
    const s = await mx.scores({ input_ids: ids([1, 3, 4]), extra: floats([0, 1, 0.25], [1, 3]) });
    expectClose(s.data, [2.5, 1.5, -1]);
  });

  it('gradient, gradient × input and AttnLRP: per-token relevance Σ_h E ⊙ ∂y_c/∂E, and the float input’s attribution', async () => {
    const mx = await MultiInputExplainer.load(bagModel());
    const feeds = { input_ids: ids([1, 3, 4]), extra: floats([0, 1, 0.25], [1, 3]) };
    const g = await mx.explain(feeds, { method: 'gradient' });
    expect(g.targets).toEqual([0]);
    expect(g.tokenInput).toBe('input_ids');
    // Class 0: (1·1 + 2·2)/3, (3·1 − 1·2)/3, (0.5 + 1)/3 — summing to the logit before `extra`, 2.5.
    expectClose(g.tokenRelevance!.data, [5 / 3, 1 / 3, 0.5]);
    expect(g.tokenRelevance!.dims).toEqual([1, 3]);
    expectClose(g.attributions.extra!.data, [1, 0, 0]);
    expect(Object.keys(g.attributions)).toEqual(['extra']);

    const gx = await mx.explain(feeds, { method: 'gradient-x-input', target: 2 });
    expectClose(gx.tokenRelevance!.data, tokenByHand([1, 3, 4], 2));
    expectClose(gx.attributions.extra!.data, [0, 0, 0.25]);

    const lrp = await mx.explain(feeds, { target: 2 });
    expect(lrp.method).toBe('lrp');
    expect(lrp.composite).toBe('attnlrp');
    // AttnLRP on a linear model is Gradient × Input.
    expectClose(lrp.tokenRelevance!.data, tokenByHand([1, 3, 4], 2));
    expectClose(lrp.attributions.extra!.data, [0, 0, 0.25]);
  });

  it('a batch with a target per sample', async () => {
    const mx = await MultiInputExplainer.load(bagModel());
    const e = await mx.explain({ input_ids: ids([1, 3, 4, 2, 2, 0], [2, 3]), extra: floats([0, 0, 0, 0, 0, 0], [2, 3]) }, { method: 'gradient', target: [1, 0] });
    expect(e.targets).toEqual([1, 0]);
    expectClose(e.tokenRelevance!.data, [...tokenByHand([1, 3, 4], 1), ...tokenByHand([2, 2, 0], 0)]);
  });

  it('refuses feeds that cannot be right, naming the input', async () => {
    const mx = await MultiInputExplainer.load(bagModel());
    const extra = floats([0, 0, 0], [1, 3]);
    await expect(mx.explain({ input_ids: ids([1, 2, 3]) })).rejects.toThrow(/input 'extra' \(float32\) is missing/);
    await expect(mx.explain({ input_ids: ids([1, 2, 3]), extra, mask: extra })).rejects.toThrow(/no input named 'mask'/);
    await expect(mx.explain({ input_ids: ids([1, 5, 3]), extra })).rejects.toThrow(/token id 5 at flat index 1 is outside the vocabulary \(0–4/);
    await expect(mx.explain({ input_ids: ids([1, 2, 3], [1, 3]), extra: floats([0, 0, 0, 0, 0, 0], [2, 3]) })).rejects.toThrow(/input 'extra' has batch size 2 \(axis 0\), but input 'input_ids' has 1/);
    await expect(mx.explain({ input_ids: ids([1, 2, 3, 4]), extra })).rejects.toThrow(InputDataError);
    await expect(mx.explain({ input_ids: ids([1, 2, 3]), extra }, { method: 'occlusion' as never })).rejects.toThrow(/not available for models with several or integer inputs/);
    await expect(mx.explain({ input_ids: ids([1, 2, 3]), extra }, { target: 3 })).rejects.toThrow(/class 3 is out of range: the model has 3 classes/);
    // A model without a static token dim takes the longer sequence.
    const open = await MultiInputExplainer.load(bagModel('T'));
    const e = await open.explain({ input_ids: ids([1, 3, 4, 4]), extra }, { method: 'gradient', target: 0 });
    expectClose(e.tokenRelevance!.data, tokenByHand([1, 3, 4, 4], 0));
  });

  it('output: a second model output (the mean embedding) is explained with its own scores and seed shape', async () => {
    const mx = await MultiInputExplainer.load(bagModel(3, true));
    const feeds = { input_ids: ids([1, 3, 4]), extra: floats([0, 1, 0.25], [1, 3]) };
    const e = await mx.explain(feeds, { method: 'gradient', output: 'pooled' });
    // pooled = mean of (1, 2), (3, −1), (0.5, 0.5) = (1.5, 0.5); class 0 is the larger.
    expectClose(e.scores.data, [1.5, 0.5]);
    expect(e.targets).toEqual([0]);
    // ∂pooled_0/∂emb_t = (1/3, 0): token relevance E[id_t][0] / 3; extra does not reach this output.
    expectClose(e.tokenRelevance!.data, [1 / 3, 1, 0.5 / 3]);
    expectClose(e.attributions.extra!.data, [0, 0, 0]);
    const e1 = await mx.explain(feeds, { method: 'gradient', output: 'pooled', target: 1 });
    expectClose(e1.tokenRelevance!.data, [2 / 3, -1 / 3, 0.5 / 3]);
    await expect(mx.explain(feeds, { output: 'nope' })).rejects.toThrow(/model has no output 'nope'/);
  });

  it('FEEDS_METHODS are the single-run methods', () => {
    expect([...FEEDS_METHODS]).toEqual(['lrp', 'gradient', 'gradient-x-input']);
  });
});

describe('scoreRows', () => {
  it('passes [batch, classes] through', () => {
    const s = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), dims: [2, 3] };
    const { rows, position } = scoreRows(s);
    expect(rows.dims).toEqual([2, 3]);
    expect(Array.from(rows.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(position).toBeUndefined();
    expect(scoreRows({ data: Float32Array.from([7, 8]), dims: [2] }).rows.dims).toEqual([2, 1]);
  });

  it('picks the row at a position of [batch, tokens, vocab] scores; negative counts from the end', () => {
    // Batch 2, 3 tokens, vocab 2: value = 100·b + 10·t + v.
    const data = Float32Array.from({ length: 12 }, (_, i) => 100 * Math.floor(i / 6) + 10 * Math.floor((i % 6) / 2) + (i % 2));
    const s = { data, dims: [2, 3, 2] };
    const last = scoreRows(s);
    expect(last.position).toBe(2);
    expect(Array.from(last.rows.data)).toEqual([20, 21, 120, 121]);
    expect(Array.from(scoreRows(s, 0).rows.data)).toEqual([0, 1, 100, 101]);
    expect(Array.from(scoreRows(s, -2).rows.data)).toEqual([10, 11, 110, 111]);
    expect(scoreRows(s, -2).position).toBe(1);
  });

  it('rejects positions outside the sequence, positions for classifiers and other ranks', () => {
    const s = { data: new Float32Array(12), dims: [2, 3, 2] };
    expect(() => scoreRows(s, 3)).toThrow(/position 3 is outside the sequence of 3 positions of the model's scores \(shape \[2, 3, 2\]\)/);
    expect(() => scoreRows(s, -4, 'logits')).toThrow(/position -4 is outside the sequence of 3 positions of output 'logits'/);
    expect(() => scoreRows(s, -4)).toThrow(InvalidArgumentError);
    expect(() => scoreRows({ data: new Float32Array(6), dims: [2, 3] }, 0)).toThrow(/no sequence axis/);
    expect(() => scoreRows({ data: new Float32Array(24), dims: [2, 3, 2, 2] })).toThrow(/cannot explain scores of shape \[2, 3, 2, 2\]/);
  });
});

describe('batchAxes: which inputs share the batch', () => {
  const input = (name: string, shape?: (number | string | null)[]) => ({ name, dtype: 'float32' as const, elemType: 1, shape });
  it('follows the named batch dim to any axis; scalars and fixed leading dims have none', () => {
    const axes = batchAxes([input('audio', ['batch', 512]), input('state', [2, 'batch', 128]), input('sr', []), input('h', [2, 1, 64])]);
    expect([...axes]).toEqual([['audio', 0], ['state', 1]]);
  });
  it('without named dims: axis 0 where it is not fixed, nothing for scalars and fixed dims', () => {
    const axes = batchAxes([input('input', [null, 512]), input('state', [2, null, 128]), input('sr', []), input('unknown')]);
    expect([...axes]).toEqual([['input', 0], ['unknown', 0]]);
  });
});
