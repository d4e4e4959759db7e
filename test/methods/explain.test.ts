/**
 * explain() and ModelExplainer on tiny hand-written models whose attributions can be worked out on paper: every
 * method against its formula (linear and quadratic models, a Conv → GlobalAveragePool head for Grad-CAM), target
 * resolution, and the errors for bad methods, parameters, targets and layers.
 */
import type { ModelProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { defaultCamLayer, explain } from '../../src/methods/explain.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { METHOD_NAMES } from '../../src/methods/types.js';
import { InputDataError, InvalidArgumentError, XsysError } from '../../src/errors.js';
import { serializeModel } from '../../src/onnx/model.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';

/** W (3 classes × 4 features) and b of every dense head below. */
const W = [
  [1, -2, 0.5, 3],
  [0, 1, -1, 2],
  [-0.5, 0.25, 2, -1],
];
const B = [0.1, -0.2, 0.3];
const X = [0.5, -1, 2, 0.25];

const gemm = (input: string) => [makeNode('Gemm', [input, 'W', 'b'], ['y'], 'fc', { transB: { int: 1 } })];
const denseInits = () => [floatTensor('W', Float32Array.from(W.flat()), [3, 4]), floatTensor('b', Float32Array.from(B), [3])];

/** y = W x + b. */
function linearModel(): ModelProto {
  return buildModel({ nodes: gemm('x'), initializers: denseInits(), inputs: [valueInfo('x', ['N', 4])], outputs: [valueInfo('y', ['N', 3])] });
}

/** y = W (x ⊙ x) + b: the gradient depends on x, so the path-based methods differ from gradient × input. */
function squareModel(): ModelProto {
  return buildModel({
    nodes: [makeNode('Mul', ['x', 'x'], ['s'], 'square'), ...gemm('s')],
    initializers: denseInits(),
    inputs: [valueInfo('x', ['N', 4])],
    outputs: [valueInfo('y', ['N', 3])],
  });
}

/** y = W relu(x) + b. */
function reluModel(): ModelProto {
  return buildModel({
    nodes: [makeNode('Relu', ['x'], ['r'], 'relu'), ...gemm('r')],
    initializers: denseInits(),
    inputs: [valueInfo('x', ['N', 4])],
    outputs: [valueInfo('y', ['N', 3])],
  });
}

/** Conv 1→2 (2×2 kernel) on 3×3 → A [N,2,2,2] → GlobalAveragePool → Flatten → Gemm V (3×2) + c → Softmax. */
const K = [
  [1, 0, -1, 2],
  [0.5, 0.5, 0.5, -0.5],
];
const KB = [0.2, -0.1];
const V = [
  [1, -1],
  [2, 0.5],
  [-1, 3],
];
const C = [0, 0.1, -0.2];
const IMG = [1, 2, 0, -1, 0.5, 1, 3, -2, 0.25];

function camModel(): ModelProto {
  return buildModel({
    nodes: [
      makeNode('Conv', ['x', 'K', 'kb'], ['A'], 'conv', { kernel_shape: { ints: [2, 2] } }),
      makeNode('GlobalAveragePool', ['A'], ['P'], 'gap'),
      makeNode('Flatten', ['P'], ['F'], 'flatten'),
      makeNode('Gemm', ['F', 'V', 'c'], ['logits'], 'fc', { transB: { int: 1 } }),
      makeNode('Softmax', ['logits'], ['probs'], 'softmax', { axis: { int: 1 } }),
    ],
    initializers: [
      floatTensor('K', Float32Array.from(K.flat()), [2, 1, 2, 2]),
      floatTensor('kb', Float32Array.from(KB), [2]),
      floatTensor('V', Float32Array.from(V.flat()), [3, 2]),
      floatTensor('c', Float32Array.from(C), [3]),
    ],
    inputs: [valueInfo('x', ['N', 1, 3, 3])],
    outputs: [valueInfo('probs', ['N', 3])],
  });
}

/** The conv activations A[c][i][j] of camModel for a 3×3 image, in float64. */
function convByHand(img: number[]): number[][][] {
  return K.map((k, c) => [0, 1].map((i) => [0, 1].map((j) => KB[c]! + k[0]! * img[i * 3 + j]! + k[1]! * img[i * 3 + j + 1]! + k[2]! * img[(i + 1) * 3 + j]! + k[3]! * img[(i + 1) * 3 + j + 1]!)));
}

/** camModel's logits for a 3×3 image, in float64. */
function camLogits(img: number[]): number[] {
  const pooled = convByHand(img).map((a) => a.flat().reduce((s, v) => s + v, 0) / 4);
  return V.map((v, t) => v[0]! * pooled[0]! + v[1]! * pooled[1]! + C[t]!);
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const tensor = (data: number[], dims: number[]) => ({ data: Float32Array.from(data), dims });

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i]! - expected[i]!) > tol * Math.max(1, Math.abs(expected[i]!))) {
      throw new Error(`element ${i}: ${actual[i]} ≠ ${expected[i]} (all: [${Array.from(actual).join(', ')}] vs [${expected.join(', ')}])`);
    }
  }
}

describe('explain: gradient methods on y = Wx + b', () => {
  it('scores are Wx + b, the default target is their arg-max, the gradient is the target row of W', async () => {
    const e = await explain(linearModel(), tensor(X, [1, 4]), { method: 'gradient' });
    // W x + b by hand: 0.5+2+1+0.75+0.1, −1−2+0.5−0.2, −0.25−0.25+4−0.25+0.3.
    expectClose(e.scores.data, [4.35, -2.7, 3.55]);
    expect(e.targets).toEqual([0]);
    expectClose(e.attribution.data, W[0]!);
    expect(e.attribution.dims).toEqual([1, 4]);
    expect(e.method).toBe('gradient');
    expect(e.composite).toBeUndefined();
  });

  it('gradient × input of class 2 is W[2] ⊙ x, per sample of a batch with a target each', async () => {
    const x2 = [1, 1, -1, 0.5];
    const e = await explain(linearModel(), tensor([...X, ...x2], [2, 4]), { method: 'gradient-x-input', target: [2, 1] });
    expect(e.targets).toEqual([2, 1]);
    expectClose(e.attribution.data, [...W[2]!.map((w, i) => w * X[i]!), ...W[1]!.map((w, i) => w * x2[i]!)]);
  });

  it('one target number applies to every sample', async () => {
    const e = await explain(linearModel(), tensor([...X, ...X], [2, 4]), { method: 'gradient', target: 1 });
    expect(e.targets).toEqual([1, 1]);
    expectClose(e.attribution.data, [...W[1]!, ...W[1]!]);
  });
});

describe('explain: LRP on a single dense layer', () => {
  it('epsilon-plus (epsilon 0.5): R_i = x_i W_ti · z_t / (z_t + 0.5·sign z_t)', async () => {
    const e = await explain(linearModel(), tensor(X, [1, 4]), { method: 'lrp', composite: 'epsilon-plus', params: { epsilon: 0.5 }, target: 1 });
    const z = -2.7;
    expectClose(e.attribution.data, W[1]!.map((w, i) => (X[i]! * w * z) / (z - 0.5)));
    expect(e.composite).toBe('epsilon-plus');
  });

  it('epsilon-plus-flat (default): the first layer spreads z_t uniformly, R_i = z_t / 4', async () => {
    const e = await explain(linearModel(), tensor(X, [1, 4]), { method: 'lrp' });
    expect(e.composite).toBe('epsilon-plus-flat');
    expectClose(e.attribution.data, [4.35 / 4, 4.35 / 4, 4.35 / 4, 4.35 / 4]);
  });

  it('relevanceAt returns the relevance at an intermediate tensor (the Relu output: R = relu(x) ⊙ W_t, epsilon 1e-6)', async () => {
    const e = await explain(reluModel(), tensor(X, [1, 4]), { method: 'lrp', composite: 'epsilon-plus', target: 0, relevanceAt: ['r'] });
    const r = X.map((v) => Math.max(v, 0));
    const expected = W[0]!.map((w, i) => w * r[i]!);
    expectClose(e.relevanceAt.r!.data, expected, 1e-4);
    // Relu passes relevance (rule 'pass' in epsilon-plus), so the input relevance is the same.
    expectClose(e.attribution.data, expected, 1e-4);
  });
});

describe('explain: path methods on y = W (x ⊙ x) + b', () => {
  it('integrated gradients is the right Riemann sum over steps α = j/k from the baseline', async () => {
    const steps = 4;
    const baseline = 0.5;
    const e = await explain(squareModel(), tensor(X, [1, 4]), { method: 'integrated-gradients', target: 2, params: { steps, baseline } });
    // ∂y_t/∂x_i = 2 W_ti x_i; IG_i = (x_i − b) · (1/k) Σ_j 2 W_ti (b + (j/k)(x_i − b)), j = 1…k.
    const expected = X.map((xi, i) => {
      let mean = 0;
      for (let j = 1; j <= steps; j++) mean += (2 * W[2]![i]! * (baseline + (j / steps) * (xi - baseline))) / steps;
      return (xi - baseline) * mean;
    });
    expectClose(e.attribution.data, expected);
    // Hand value for feature 2 (x = 2, W = 2): 1.5 · mean(2·2·(0.5 + j·0.375)) = 1.5 · 5.75 = 8.625.
    expect(e.attribution.data[2]).toBeCloseTo(8.625, 5);
  });

  it('integrated gradients tends to the exact integral W_ti (x_i² − b²) with many steps', async () => {
    const e = await explain(squareModel(), tensor(X, [1, 4]), { method: 'integrated-gradients', target: 0, params: { steps: 400 }, maxBatch: 64 });
    const exact = X.map((xi, i) => W[0]![i]! * xi * xi);
    const riemannBias = X.map((xi, i) => (W[0]![i]! * xi * xi) / 400);
    expectClose(e.attribution.data, exact.map((v, i) => v + riemannBias[i]!), 1e-4);
  });

  it('smoothgrad without noise is the gradient 2 W_t ⊙ x', async () => {
    const e = await explain(squareModel(), tensor(X, [1, 4]), { method: 'smoothgrad', target: 0, params: { noiseLevel: 0, samples: 5 } });
    expectClose(e.attribution.data, X.map((xi, i) => 2 * W[0]![i]! * xi));
  });

  it('smoothgrad on W relu(x): E[1(x_i + ε > 0)] = Φ(x_i / σ), σ = noiseLevel · (max x − min x)', async () => {
    const x = [-1, 0, 0.5, 1];
    const samples = 801;
    const progress: number[] = [];
    const e = await explain(reluModel(), tensor(x, [1, 4]), { method: 'smoothgrad', target: 0, params: { noiseLevel: 0.5, samples, seed: 3 }, limits: { 'smoothgrad.samples': 1000 }, onProgress: (d) => progress.push(d) });
    // σ = 0.5 · 2 = 1: Φ(−1), Φ(0), Φ(0.5), Φ(1). The last sample is noise-free (as Zennit).
    const phi = [0.158655, 0.5, 0.691462, 0.841345];
    const expected = phi.map((p, i) => W[0]![i]! * ((p * (samples - 1) + (x[i]! > 0 ? 1 : 0)) / samples));
    // Binomial standard error √(p(1−p)/800) ≤ 0.018; allow 4 of them, scaled by |W|.
    for (let i = 0; i < 4; i++) expect(Math.abs(e.attribution.data[i]! - expected[i]!)).toBeLessThan(0.07 * Math.abs(W[0]![i]!));
    expect(progress.at(-1)).toBe(samples);
    // Same seed, other batching: the same noise in the same order, so the same numbers.
    const again = await explain(reluModel(), tensor(x, [1, 4]), { method: 'smoothgrad', target: 0, params: { noiseLevel: 0.5, samples, seed: 3 }, limits: { 'smoothgrad.samples': 1000 }, maxBatch: 7 });
    expectClose(again.attribution.data, Array.from(e.attribution.data), 1e-6);
    const other = await explain(reluModel(), tensor(x, [1, 4]), { method: 'smoothgrad', target: 0, params: { noiseLevel: 0.5, samples, seed: 4 }, limits: { 'smoothgrad.samples': 1000 } });
    expect(Array.from(other.attribution.data)).not.toEqual(Array.from(e.attribution.data));
  });
});

describe('explain: occlusion', () => {
  it('vector input, window 2 stride 1: each feature gets the mean drop of f_t over the windows covering it', async () => {
    const f = (x: number[]) => dot(W[0]!, x.map((v) => v * v)) + B[0]!;
    const fill = 0.25;
    const e = await explain(squareModel(), tensor(X, [1, 4]), { method: 'occlusion', target: 0, params: { window: 2, stride: 1, fill } });
    // Windows [0,1], [1,2], [2,3].
    const drops = [0, 1, 2].map((s) => f(X) - f(X.map((v, i) => (i === s || i === s + 1 ? fill : v))));
    expectClose(e.attribution.data, [drops[0]!, (drops[0]! + drops[1]!) / 2, (drops[1]! + drops[2]!) / 2, drops[2]!]);
  });

  it('image input, window 2 stride 1 on 3×3: the centre pixel averages all four windows', async () => {
    const e = await explain(camModel(), tensor(IMG, [1, 1, 3, 3]), { method: 'occlusion', target: 1, params: { window: 2, stride: 1 } });
    const y = camLogits(IMG)[1]!;
    const sums = new Array<number>(9).fill(0);
    const counts = new Array<number>(9).fill(0);
    for (const [r0, c0] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
      const covered = [0, 1, 2, 3, 4, 5, 6, 7, 8].filter((p) => Math.floor(p / 3) - r0 >= 0 && Math.floor(p / 3) - r0 < 2 && (p % 3) - c0 >= 0 && (p % 3) - c0 < 2);
      const drop = y - camLogits(IMG.map((v, p) => (covered.includes(p) ? 0 : v)))[1]!;
      for (const p of covered) {
        sums[p]! += drop;
        counts[p]! += 1;
      }
    }
    expect(counts).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1]);
    expectClose(e.attribution.data, sums.map((s, p) => s / counts[p]!));
  });

  it('a window as large as the input covers all of it once; a larger one is an error, not clamped', async () => {
    const f = (x: number[]) => dot(W[0]!, x) + B[0]!;
    const e = await explain(linearModel(), tensor(X, [1, 4]), { method: 'occlusion', target: 0, params: { window: 4, stride: 4 } });
    const drop = f(X) - f([0, 0, 0, 0]);
    expectClose(e.attribution.data, [drop, drop, drop, drop]);
    await expect(explain(linearModel(), tensor(X, [1, 4]), { method: 'occlusion', target: 0, params: { window: 9, stride: 4 } })).rejects.toThrow(/window \(9\) is larger than the input/);
  });
});

describe('explain: Grad-CAM', () => {
  it('defaultCamLayer picks the input of the last GlobalAveragePool, else of the last Flatten', () => {
    expect(defaultCamLayer(camModel())).toBe('A');
    const noGap = buildModel({
      nodes: [makeNode('Flatten', ['x'], ['f'], 'flat'), ...gemm('f')],
      initializers: denseInits(),
      inputs: [valueInfo('x', ['N', 1, 2, 2])],
      outputs: [valueInfo('y', ['N', 3])],
    });
    expect(defaultCamLayer(noGap)).toBe('x');
    expect(() => defaultCamLayer(linearModel())).toThrow(InvalidArgumentError);
    expect(() => defaultCamLayer(linearModel())).toThrow(/--layer/);
  });

  it('cam = Σ_c mean(∂y_t/∂A_c) · A_c, with ∂y_t/∂A_c = V_tc / 4 through the average pool; scores are the logits before Softmax', async () => {
    const e = await explain(camModel(), tensor(IMG, [1, 1, 3, 3]), { method: 'grad-cam', target: 2 });
    const A = convByHand(IMG);
    const expected = [0, 1].flatMap((i) => [0, 1].map((j) => (V[2]![0]! / 4) * A[0]![i]![j]! + (V[2]![1]! / 4) * A[1]![i]![j]!));
    expect(e.attribution.dims).toEqual([1, 1, 2, 2]);
    expectClose(e.attribution.data, expected);
    expectClose(e.scores.data, camLogits(IMG));
  });

  it('a model whose Flatten reads the input: the default layer is the input, cam = mean(W_t) · x', async () => {
    const flatOnInput = buildModel({
      nodes: [makeNode('Flatten', ['x'], ['f'], 'flat'), makeNode('Gemm', ['f', 'W'], ['y'], 'fc', { transB: { int: 1 } })],
      initializers: [floatTensor('W', Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [2, 4])],
      inputs: [valueInfo('x', ['N', 1, 2, 2])],
      outputs: [valueInfo('y', ['N', 2])],
    });
    const e = await explain(flatOnInput, tensor([1, -1, 2, 0.5], [1, 1, 2, 2]), { method: 'grad-cam', target: 1 });
    // One channel; its mean gradient is (5 + 6 + 7 + 8) / 4 = 6.5.
    expect(e.attribution.dims).toEqual([1, 1, 2, 2]);
    expectClose(e.attribution.data, [6.5, -6.5, 13, 3.25]);
  });

  it('an explicit layer is used as given; an unknown one is an error naming it', async () => {
    const e = await explain(camModel(), tensor(IMG, [1, 1, 3, 3]), { method: 'grad-cam', target: 0, layer: 'F' });
    // At F (= pooled A, [1,2]) the gradient is V_0 and the "spatial" map is one value: Σ_c V_0c F_c.
    const pooled = convByHand(IMG).map((a) => a.flat().reduce((s, v) => s + v, 0) / 4);
    expectClose(e.attribution.data, [dot(V[0]!, pooled)]);
    await expect(explain(camModel(), tensor(IMG, [1, 1, 3, 3]), { method: 'grad-cam', layer: 'nope' })).rejects.toThrow(/nope/);
  });
});

describe('explain: arguments', () => {
  it('accepts the model as bytes, and a prepared ModelExplainer, with the same result', async () => {
    const a = await explain(serializeModel(linearModel()), tensor(X, [1, 4]), { method: 'gradient-x-input' });
    const b = await explain(await ModelExplainer.load(linearModel()), tensor(X, [1, 4]), { method: 'gradient-x-input' });
    expectClose(a.attribution.data, Array.from(b.attribution.data));
    expectClose(a.attribution.data, W[0]!.map((w, i) => w * X[i]!));
  });

  it('rejects unknown methods, unknown parameters, targets out of range and wrong input shapes', async () => {
    const m = linearModel();
    const x = tensor(X, [1, 4]);
    await expect(explain(m, x, { method: 'magic' as never })).rejects.toThrow(/unknown method 'magic'/);
    await expect(explain(m, x, { method: 'smoothgrad', params: { steps: 3 } })).rejects.toThrow(/no parameter 'steps'/);
    const noParams = await explain(m, x, { method: 'gradient', params: { samples: 3 } }).catch((e: unknown) => e);
    expect(noParams).toBeInstanceOf(InvalidArgumentError);
    expect((noParams as InvalidArgumentError).argument).toBe('--param');
    expect((noParams as InvalidArgumentError).hint).toBe('it takes no parameters');
    await expect(explain(m, x, { method: 'gradient', target: 3 })).rejects.toThrow(/out of range.*3 classes/);
    await expect(explain(m, x, { method: 'gradient', target: [0, 1] })).rejects.toThrow(/2 targets given for a batch of 1/);
    await expect(explain(m, x, { method: 'occlusion', params: { window: 0 } })).rejects.toThrow(/≥ 1/);
    await expect(explain(m, tensor([1, 2, 3], [1, 3]), { method: 'gradient' })).rejects.toThrow(InputDataError);
    await expect(explain(m, tensor([1, Number.NaN, 3, 4], [1, 4]), { method: 'gradient' })).rejects.toThrow(/non-finite/);
  });

  it('output: a second model output is explained with its own scores, targets and seed shape', async () => {
    // y1 = x (3 classes), y2 = V x with V = [[2, 3, 4], [5, 6, 7]] (2 classes); x = (1, 2, 10) → y2 = (48, 87).
    const two = buildModel({
      nodes: [makeNode('Identity', ['x'], ['y1'], 'id'), makeNode('Gemm', ['x', 'V'], ['y2'], 'fc2', { transB: { int: 1 } })],
      initializers: [floatTensor('V', Float32Array.from([2, 3, 4, 5, 6, 7]), [2, 3])],
      inputs: [valueInfo('x', ['N', 3])],
      outputs: [valueInfo('y1', ['N', 3]), valueInfo('y2', ['N', 2])],
    });
    const x = tensor([1, 2, 10], [1, 3]);
    const g = await explain(two, x, { method: 'gradient', output: 'y2' });
    expectClose(g.scores.data, [48, 87]);
    expect(g.targets).toEqual([1]);
    expectClose(g.attribution.data, [5, 6, 7]);
    // Occlusion of single features against fill 0: the drop of y2_1 is V_1i x_i.
    const o = await explain(two, x, { method: 'occlusion', output: 'y2', target: 1, params: { window: 1, stride: 1 } });
    expectClose(o.attribution.data, [5, 12, 70]);
    const l = await explain(two, x, { method: 'lrp', composite: 'epsilon-plus', output: 'y2', target: 0 });
    expectClose(l.attribution.data, [2, 6, 40], 1e-4);
    // The default stays the first output.
    expectClose((await explain(two, x, { method: 'gradient', target: 2 })).attribution.data, [0, 0, 1]);
    await expect(explain(two, x, { method: 'gradient', output: 'y3' })).rejects.toThrow(/model has no output 'y3'/);
  });

  it('METHOD_NAMES lists every method explain() accepts', async () => {
    expect([...METHOD_NAMES].sort()).toEqual(['crp', 'grad-cam', 'gradient', 'gradient-x-input', 'integrated-gradients', 'lrp', 'occlusion', 'smoothgrad']);
  });
});

describe('ModelExplainer', () => {
  it('knows its input and explained output (the logits before a terminal Softmax), and computes them', async () => {
    const mx = await ModelExplainer.load(camModel());
    expect(mx.inputName).toBe('x');
    expect(mx.inputShape).toEqual(['N', 1, 3, 3]);
    expect(mx.scoresName).toBe('logits');
    expect(mx.scoresNameOf()).toBe('logits');
    expect(mx.scoresNameOf('probs')).toBe('logits');
    expect(() => mx.scoresNameOf('A')).toThrow(/model has no output 'A'/);
    const s = await mx.scores(tensor(IMG, [1, 1, 3, 3]));
    expectClose(s.data, camLogits(IMG));
  });

  it('forwardTensor returns an intermediate activation (the conv output computed by hand)', async () => {
    const mx = await ModelExplainer.load(camModel());
    const a = await mx.forwardTensor(tensor(IMG, [1, 1, 3, 3]), 'A');
    expect(a.dims).toEqual([1, 2, 2, 2]);
    expectClose(a.data, convByHand(IMG).flat(2));
    await expect(mx.forwardTensor(tensor(IMG, [1, 1, 3, 3]), 'missing')).rejects.toThrow(/no tensor named 'missing'/);
  });

  it('resolveTargets: arg-max per row for pred, range checks otherwise; seed is the one-hot', async () => {
    const mx = await ModelExplainer.load(linearModel());
    const scores = tensor([0, 5, 1, 9, 2, 3], [2, 3]);
    expect(mx.resolveTargets('pred', scores)).toEqual([1, 0]);
    expect(mx.resolveTargets(2, scores)).toEqual([2, 2]);
    expect(mx.resolveTargets([0, 2], scores)).toEqual([0, 2]);
    expect(() => mx.resolveTargets(-1, scores)).toThrow(InvalidArgumentError);
    expect(() => mx.resolveTargets(1.5, scores)).toThrow(/out of range/);
    const seed = mx.seed([2, 0], [2, 3]);
    expect(seed.dims).toEqual([2, 3]);
    expect(Array.from(seed.data)).toEqual([0, 0, 1, 1, 0, 0]);
  });

  it('validate rejects a wrong shape with both shapes named', async () => {
    const mx = await ModelExplainer.load(linearModel());
    expect(() => mx.validate(tensor([1, 2, 3, 4], [4]))).toThrow(/shape \[4\], but the model expects \[N, 4\]/);
    expect(() => mx.validate(tensor(X, [1, 4]))).not.toThrow();
  });

  it('a model with two float inputs is refused (exit code 3), pointing at compileExplainer', async () => {
    const two = buildModel({ nodes: [makeNode('Add', ['a', 'b'], ['y'], 'add')], inputs: [valueInfo('a', [1, 2]), valueInfo('b', [1, 2])], outputs: [valueInfo('y', [1, 2])] });
    const err = await ModelExplainer.load(two).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XsysError);
    expect((err as XsysError).exitCode).toBe(3);
    expect((err as XsysError).message).toMatch(/exactly one float32 input; this one has 2 \(a, b\)/);
    expect((err as XsysError).hint).toMatch(/compileExplainer/);
  });
});
