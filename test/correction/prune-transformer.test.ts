/**
 * Pruning transformers by relevance (src/weight-surgery/prune-transformer.ts, src/correction/prune-units.ts) on real
 * PyTorch 1.13 exports (test/fixtures/prune-transformer/, made by examples/transformer-pruning/make_models.py; the
 * bundled ViT of examples/transformers): the blocks found, head and neuron relevance against the reference computed
 * in PyTorch, pruned models against the original with the same heads/neurons zeroed, and the refusals.
 */
import { describe, expect, it } from 'vitest';
import type { ModelProto } from 'onnx-buf';
import { readModel } from '../../src/onnx/file.js';
import { readNpy } from '../../src/io/npy-file.js';
import { cloneModel, serializeModel } from '../../src/onnx/model.js';
import { decodeTensor, floatTensor } from '../../src/onnx/tensor.js';
import { Graph } from '../../src/ir/graph.js';
import { createSession } from '../../src/runtime/session.js';
import { inspectModel } from '../../src/compiler/inspect.js';
import { namedComposite } from '../../src/composites/index.js';
import { explain } from '../../src/methods/explain.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { UnsupportedNodeError } from '../../src/errors.js';
import { findAttention, findMlps, pruneTransformer, transformerMagnitudes } from '../../src/weight-surgery/prune-transformer.js';
import { parseGrid, prunableLayers, tuneComposite, unitRelevance, unitRelevanceRows } from '../../src/correction/prune-units.js';
import { countParams } from '../../src/weight-surgery/prune-channels.js';
import { runModel } from '../helpers/onnx.js';

const FIX = 'test/fixtures/prune-transformer';
const VIT = 'examples/transformers/vit-quadrant.onnx';

async function fixture(): Promise<{ x: { data: Float32Array; dims: number[] }; heads: Float64Array; neurons: Float64Array }> {
  const x = await readNpy(`${FIX}/x.npy`);
  const h = await readNpy(`${FIX}/head-relevance.npy`);
  const n = await readNpy(`${FIX}/neuron-relevance.npy`);
  return { x: { data: Float32Array.from(x.data as Float32Array), dims: x.shape }, heads: Float64Array.from(h.data as Float64Array), neurons: Float64Array.from(n.data as Float64Array) };
}

/** The model with rows `rows` (of `axis`) of initializer `name` set to zero. */
function zeroRows(m: ModelProto, name: string, axis: number, rows: readonly number[]): ModelProto {
  const c = cloneModel(m);
  const t = c.graph!.initializer.find((x) => x.name === name)!;
  const d = decodeTensor(t);
  const dims = d.dims.map(Number);
  const data = Float32Array.from(d.data as Float32Array);
  for (let i = 0; i < data.length; i++) {
    const r = axis === 0 ? Math.floor(i / dims[1]!) : i % dims[1]!;
    if (rows.includes(r)) data[i] = 0;
  }
  c.graph!.initializer = c.graph!.initializer.map((x) => (x.name === name ? floatTensor(name, data, dims) : x));
  return c;
}

async function logits(m: ModelProto, x: { data: Float32Array; dims: number[] }, input = 'x'): Promise<Float32Array> {
  return Object.values(await runModel(m, { [input]: x }))[0]!.data;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('finding attention and MLPs in PyTorch exports', () => {
  it('recognises the hand-written attention (static and dynamic shapes), the ViT, and the MLPs', async () => {
    for (const f of ['tiny-dynamic', 'tiny-static']) {
      const g = new Graph(await readModel(`${FIX}/${f}.onnx`));
      expect(findAttention(g).map((a) => [a.tensor, a.node, a.heads, a.headDim])).toEqual([['/att/Reshape_3_output_0', '/att/o/MatMul', 2, 4]]);
      expect(findMlps(g).map((m) => [m.tensor, m.node, m.neurons])).toEqual([['/mlp/act/Mul_1_output_0', '/mlp/up/MatMul', 16]]);
    }
    const vit = await readModel(VIT);
    expect(prunableLayers(vit, 'heads').map((l) => [l.node, l.units, l.width])).toEqual([['/blocks.0/attn/o/MatMul', 4, 8], ['/blocks.1/attn/o/MatMul', 4, 8]]);
    expect(prunableLayers(vit, 'neurons').map((l) => [l.node, l.units])).toEqual([['/blocks.0/up/MatMul', 64], ['/blocks.1/up/MatMul', 64]]);
  });

  it('refuses nn.MultiheadAttention (packed in-projection) by naming the node', async () => {
    const g = new Graph(await readModel(`${FIX}/tiny-mha.onnx`));
    let err: unknown;
    try {
      findAttention(g);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedNodeError);
    expect((err as UnsupportedNodeError).nodeName).toBe('/att/Slice');
    expect(String(err)).toMatch(/packed projection \(nn.MultiheadAttention's in_proj\): not supported/);
    // Its MLP is still found: neurons can be pruned there.
    expect(findMlps(g).map((m) => m.neurons)).toEqual([16]);
  });
});

describe('head and neuron relevance (AttnLRP)', () => {
  it('per sample equals the PyTorch reference, and aggregates to the normalised mean', async () => {
    const { x, heads, neurons } = await fixture();
    const model = await readModel(`${FIX}/tiny-dynamic.onnx`);
    const mx = await ModelExplainer.load(model);
    const target = [0, 1, 2, 1];
    const layers = [...prunableLayers(model, 'heads'), ...prunableLayers(model, 'neurons')];
    const ex = await explain(mx, x, { method: 'lrp', composite: 'attnlrp', target, relevanceAt: layers.map((l) => l.tensor) });
    const h = unitRelevanceRows(ex.relevanceAt[layers[0]!.tensor]!, 2, 4);
    const n = unitRelevanceRows(ex.relevanceAt[layers[1]!.tensor]!, 16, 1);
    const scale = Math.max(...Array.from(heads, Math.abs));
    expect(maxAbsDiff(h.data, heads)).toBeLessThan(1e-4 * scale);
    expect(maxAbsDiff(n.data, neurons)).toBeLessThan(1e-4 * Math.max(...Array.from(neurons, Math.abs)));
    // Aggregated: mean over samples of each row divided by its Σ|R|.
    const agg = await unitRelevance(mx, x, layers.slice(0, 1), 'heads', target);
    const want = [0, 1].map((u) => [0, 1, 2, 3].reduce((s, i) => s + heads[i * 2 + u]! / (Math.abs(heads[i * 2]!) + Math.abs(heads[i * 2 + 1]!)) / 4, 0));
    expect(Array.from(agg[layers[0]!.tensor]!)).toEqual(want.map((v) => expect.closeTo(v, 4)));
  });

  it('magnitude: L1 of q/k/v columns and output rows per head, of the two Linears per neuron', async () => {
    const model = await readModel(`${FIX}/tiny-static.onnx`);
    const g = new Graph(model);
    const a = findAttention(g)[0]!;
    const l1 = (name: string, axis: number, lo: number, hi: number) => {
      const d = decodeTensor(g.initializer(name)!);
      const cols = Number(d.dims[1]);
      let s = 0;
      (d.data as Float32Array).forEach((v, i) => {
        const r = axis === 0 ? Math.floor(i / cols) : i % cols;
        if (r >= lo && r < hi) s += Math.abs(v);
      });
      return s;
    };
    const head1 = l1(a.q.node.input[1]!, 1, 4, 8) + l1(a.k.node.input[1]!, 1, 4, 8) + l1(a.v.node.input[1]!, 1, 4, 8) + l1(a.out.node.input[1]!, 0, 4, 8);
    expect(transformerMagnitudes(model, 'heads')[a.tensor]![1]).toBeCloseTo(head1, 4);
    const m = findMlps(g)[0]!;
    expect(transformerMagnitudes(model, 'neurons')[m.tensor]![5]).toBeCloseTo(l1(m.up.node.input[1]!, 1, 5, 6) + l1(m.down.node.input[1]!, 0, 5, 6), 5);
  });
});

describe('pruneTransformer', () => {
  it('computes exactly the original when nothing is pruned', async () => {
    const { x } = await fixture();
    for (const f of ['tiny-dynamic', 'tiny-static']) {
      const model = await readModel(`${FIX}/${f}.onnx`);
      const r = pruneTransformer(model, { heads: { '/att/o/MatMul': [] }, neurons: { '/mlp/up/MatMul': [] } });
      expect(r.parametersAfter).toBe(r.parametersBefore);
      expect(Array.from(await logits(r.model, x))).toEqual(Array.from(await logits(model, x)));
    }
  });

  it('a pruned head or neuron gives the original with its contribution removed (its output rows zeroed)', async () => {
    const { x } = await fixture();
    for (const f of ['tiny-dynamic', 'tiny-static']) {
      const model = await readModel(`${FIX}/${f}.onnx`);
      const g = new Graph(model);
      const a = findAttention(g)[0]!;
      const m = findMlps(g)[0]!;
      const r = pruneTransformer(model, { heads: { [a.tensor]: [0] }, neurons: { [m.node]: [2, 7, 11] } });
      expect(r.layers.map((l) => [l.kind, l.kept])).toEqual([['heads', [1]], ['neurons', [0, 1, 3, 4, 5, 6, 8, 9, 10, 12, 13, 14, 15]]]);
      // q, k, v: 3 × 4 columns × (8 + 1); output: 4 rows × 8; up: 3 × (8 + 1); down: 3 × 8.
      expect(r.parametersBefore - r.parametersAfter).toBe(3 * 4 * 9 + 4 * 8 + 3 * 9 + 3 * 8);
      const masked = zeroRows(zeroRows(model, a.out.node.input[1]!, 0, [0, 1, 2, 3]), m.down.node.input[1]!, 0, [2, 7, 11]);
      const got = await logits(r.model, x);
      const want = await logits(masked, x);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
      // And it differs from the unpruned model: the head mattered.
      expect(maxAbsDiff(got, await logits(model, x))).toBeGreaterThan(1e-3);
      await createSession(serializeModel(r.model));
      expect(inspectModel(r.model, namedComposite('attnlrp')).unsupported).toEqual([]);
      // Explainable: AttnLRP runs on the pruned model, relevance at the pruned attention has 1 head × 4 features.
      const ex = await explain(r.model, x, { method: 'lrp', composite: 'attnlrp', relevanceAt: [a.tensor] });
      expect(ex.relevanceAt[a.tensor]!.dims).toEqual([4, 5, 4]);
      expect(Array.from(ex.attribution.data).every(Number.isFinite)).toBe(true);
    }
  });

  it('prunes the bundled ViT (pre-norm, LayerNormalization, class token) into a smaller model with the same masked outputs', async () => {
    const vit = await readModel(VIT);
    const img = await readNpy('examples/transformers/quadrant-example.npy');
    const x = { data: Float32Array.from(img.data as Float32Array), dims: [1, ...img.shape.slice(-3)] };
    const heads = prunableLayers(vit, 'heads');
    const r = pruneTransformer(vit, { heads: { [heads[0]!.tensor]: [1, 3], [heads[1]!.node]: [0] } });
    const g = new Graph(vit);
    const [a0, a1] = findAttention(g);
    const masked = zeroRows(zeroRows(vit, a0!.out.node.input[1]!, 0, [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31]), a1!.out.node.input[1]!, 0, [0, 1, 2, 3, 4, 5, 6, 7]);
    const input = vit.graph!.input[0]!.name;
    expect(maxAbsDiff(await logits(r.model, x, input), await logits(masked, x, input))).toBeLessThan(1e-4);
    expect(serializeModel(r.model).length).toBeLessThan(serializeModel(vit).length);
    await createSession(serializeModel(r.model));
  });

  it('refuses removing every head, and names what is not an MLP', async () => {
    const model = await readModel(`${FIX}/tiny-static.onnx`);
    expect(() => pruneTransformer(model, { heads: { '/att/o/MatMul': [0, 1] } })).toThrow(/would remove all 2 heads/);
    expect(() => pruneTransformer(model, { neurons: { '/att/q/MatMul': [0] } })).toThrow(/node '\/att\/q\/MatMul' \(MatMul\): is not the first Linear of an MLP: '\/att\/Reshape' \(Reshape\) reads the hidden neurons/);
  });
});

describe('composite tuning for pruning', () => {
  it('parses grids, with dense-gamma as a Gamma entry in front', () => {
    const g = parseGrid('attnlrp; cp-lrp ;attnlrp(dense-gamma=0.25);epsilon-plus-flat(epsilon=0.1)');
    expect(g.map((c) => c.label)).toEqual(['attnlrp', 'cp-lrp', 'attnlrp(dense-gamma=0.25)', 'epsilon-plus-flat(epsilon=0.1)']);
    expect(g[2]!.composite.entries[0]).toEqual({ match: { kind: ['conv', 'dense'] }, rule: 'gamma', params: { gamma: 0.25 } });
    expect(g[2]!.composite.form).toBe('gradient');
    expect(() => parseGrid('attnlrp(gamma=1)')).toThrow(/has no parameter 'gamma'/);
  });

  it('scores every candidate on the validation split and keeps the most accurate', async () => {
    const { x } = await fixture();
    const model = await readModel(`${FIX}/tiny-dynamic.onnx`);
    const labels = Array.from((await runModel(model, { x })).logits!.data.reduce<number[][]>((rows, v, i) => (i % 3 === 0 ? [...rows, [v]] : (rows.at(-1)!.push(v), rows)), [])).map((r) => r.indexOf(Math.max(...r)));
    const layers = prunableLayers(model, 'neurons');
    const { report } = await tuneComposite(model, 'neurons', layers, parseGrid('attnlrp;attnlrp(dense-gamma=1)'), 0.5, { inputs: x, target: labels }, { inputs: x, labels });
    expect(report.grid.map((r) => r.label)).toEqual(['attnlrp', 'attnlrp(dense-gamma=1)']);
    expect(report.unprunedAccuracy).toBe(1);
    const best = Math.max(...report.grid.map((r) => r.accuracy));
    expect(report.chosen).toBe(report.grid.find((r) => r.accuracy === best)!.label);
    // 8 of 16 neurons: 8 × (8 + 1) + 8 × 8 of the model's parameters.
    expect(report.grid[0]!.compression).toBeCloseTo((8 * 9 + 8 * 8) / countParams(model), 10);
  });
});

describe('pruning the MNIST-rows transformer (examples/transformer-pruning, the bench:pruning-transformer model)', () => {
  it('two heads of eight per block: relevance keeps the model far more accurate than magnitude', async () => {
    const { loadMnist } = await import('../../examples/clever-hans/findings.js');
    const { referenceSet, testSet } = await import('../../examples/mnist/pruning.js');
    const data = await loadMnist();
    const model = await readModel('examples/transformer-pruning/mnist-rows-transformer.onnx');
    const ref = referenceSet(data);
    const all = testSet(data, 3000);
    // Test images 1,000–2,999: outside the benchmark's tuning split, as there.
    const x = { data: all.inputs.data.subarray(1000 * 784), dims: [2000, 28, 28] };
    const labels = all.labels.slice(1000);
    const layers = prunableLayers(model, 'heads');
    expect(layers.map((l) => [l.units, l.width])).toEqual([[8, 4], [8, 4]]);
    const rel = await unitRelevance(await ModelExplainer.load(model), { data: ref.inputs.data, dims: [200, 28, 28] }, layers, 'heads', ref.labels);
    const { accuracyOf, pruneLowest, unitMagnitudes } = await import('../../src/correction/prune-units.js');
    const base = await accuracyOf(model, x, labels);
    const byRelevance = await accuracyOf(pruneLowest(model, 'heads', rel, 0.25).model, x, labels);
    const byMagnitude = await accuracyOf(pruneLowest(model, 'heads', unitMagnitudes(model, 'heads', layers), 0.25).model, x, labels);
    // Here 96.85 → 93.60 (relevance) and 84.20 % (magnitude); the bench: 97.96 → 95.79 and 85.43 on images 1,000–9,999.
    expect(base).toBeGreaterThan(0.96);
    expect(base - byRelevance).toBeLessThan(0.05);
    expect(byRelevance - byMagnitude).toBeGreaterThan(0.06);
  }, 120_000);
});
