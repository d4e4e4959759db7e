/**
 * Control flow (If, Loop, Scan), constant folding and reflect padding: the compiled gradient against central
 * differences of ONNX Runtime running the original model (its own If/Loop/Scan kernels), accumulated in float64; and
 * `inspect` against `compile` on every model of the suite's fixtures: a model inspect calls supported compiles, and
 * one it reports does not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { AttributeProtoSchema, AttributeProto_AttributeType, GraphProtoSchema, TensorProtoSchema, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { compileExplainer } from '../../src/compiler/compile.js';
import { inspectModel } from '../../src/compiler/inspect.js';
import { parseModel } from '../../src/onnx/model.js';
import { buildModel, floatTensor, int64Tensor, makeNode, rng, runModel, uniform, valueInfo } from '../helpers/onnx.js';
import * as ort from 'onnxruntime-node';
import { serializeModel } from '../../src/onnx/model.js';

type Feed = { data: Float32Array | BigInt64Array | Uint8Array; dims: number[]; type?: 'float32' | 'int64' | 'bool' };

async function run(model: ModelProto | Uint8Array, feeds: Record<string, Feed>): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(model instanceof Uint8Array ? model : serializeModel(model), { graphOptimizationLevel: 'disabled' });
  const f: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor(v.type ?? 'float32', v.data, v.dims);
  const out = await s.run(f);
  await s.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

function graphAttr(name: string, g: { nodes: NodeProto[]; inputs?: ValueInfoProto[]; outputs: ValueInfoProto[]; inits?: TensorProto[] }) {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.GRAPH, g: create(GraphProtoSchema, { name, node: g.nodes, input: g.inputs ?? [], output: g.outputs, initializer: g.inits ?? [] }) });
}

const typed = (name: string, elemType: number, dims?: number[]) => {
  const v = valueInfo(name, dims);
  (v.type!.value.value as { elemType: number }).elemType = elemType;
  return v;
};

/** y = Σ w_out ⊙ out (a scalar): the compiled gradient of y against central differences of ORT on the model. */
async function checkGradient(model: ModelProto, feeds: Record<string, Feed>, floatInput = 'x') {
  const ex = compileExplainer(model, { method: 'gradient' });
  const out = await run(ex.bytes(), { ...feeds, [ex.seedName]: { data: Float32Array.of(1), dims: [1, 1] } });
  const y0 = (await run(model, feeds)).y![0]!;
  expect(Math.abs(out[ex.scoresName]![0]! - y0)).toBeLessThan(1e-5 * Math.max(1, Math.abs(y0)));
  const x = feeds[floatInput]!;
  const h = 1e-2;
  const g = out[ex.attributionNames[floatInput]!]!;
  let err = 0;
  let max = 0;
  for (let i = 0; i < x.data.length; i++) {
    const at = async (s: number) => {
      const d = Float32Array.from(x.data as Float32Array);
      d[i]! += s;
      return (await run(model, { ...feeds, [floatInput]: { data: d, dims: x.dims } })).y![0]!;
    };
    const fd = ((await at(h)) - (await at(-h))) / (2 * h);
    err = Math.max(err, Math.abs(fd - g[i]!));
    max = Math.max(max, Math.abs(fd));
  }
  expect(max).toBeGreaterThan(1e-3);
  expect(err / max).toBeLessThan(2e-3);
  return ex;
}

const X = [2, 3];
const xFeed = (): Feed => ({ data: uniform(rng(3), 6, -1, 1), dims: X });
/** A weighting to a scalar after the explained tensor t [2, 3] (Mul by w, ReduceSum keepdims → y [1, 1]). */
const head = (t: string): NodeProto[] => [makeNode('Mul', [t, 'wout'], ['tw'], 'weigh'), makeNode('ReduceSum', ['tw', 'all'], ['y0'], 'sum', { keepdims: { int: 0 } }), makeNode('Reshape', ['y0', 'one_one'], ['y'], 'y')];
const headInits = () => [floatTensor('wout', uniform(rng(9), 6, -1, 1), X), int64Tensor('all', [0, 1], [2]), int64Tensor('one_one', [1, 1], [2])];

/** If(cond): then tanh(x ⊙ w) (capturing x and w from the outer scope), else x ⊙ x; cond given as `condNodes`. */
function ifModel(condNodes: NodeProto[], extraInputs: ValueInfoProto[] = [], thenSqueezes = false) {
  const thenNodes = [makeNode('Mul', ['x', 'w'], ['t_m'], 't_mul'), makeNode('Tanh', ['t_m'], ['t_out'], 't_tanh')];
  const elseNodes = [makeNode('Mul', ['x', 'x'], ['e_out'], 'e_sq')];
  if (thenSqueezes) thenNodes.push(makeNode('Unsqueeze', ['t_out', 'ax0'], ['t_u'], 't_unsq'));
  const node = makeNode('If', ['cond'], ['r'], 'branch');
  node.attribute.push(graphAttr('then_branch', { nodes: thenNodes, outputs: [valueInfo(thenSqueezes ? 't_u' : 't_out')] }), graphAttr('else_branch', { nodes: elseNodes, outputs: [valueInfo('e_out')] }));
  const tail = thenSqueezes ? [makeNode('Reshape', ['r', 'shape23'], ['r2'], 'back'), ...head('r2')] : head('r');
  return buildModel({
    nodes: [...condNodes, node, ...tail],
    initializers: [floatTensor('w', uniform(rng(5), 6, -1.5, 1.5), X), int64Tensor('ax0', [0], [1]), int64Tensor('shape23', [2, 3], [2]), ...headInits()],
    inputs: [valueInfo('x', X), ...extraInputs],
    outputs: [valueInfo('y', [1, 1])],
    opset: 17,
  });
}

const boolConst = (name: string, v: boolean) => makeNode('Constant', [], [name], `${name}_c`, { value: { tensor: create(TensorProtoSchema, { name, dataType: 9, dims: [], rawData: Uint8Array.of(v ? 1 : 0) }) } });

describe('If', () => {
  it('a constant condition: the taken branch is inlined with its outer-scope captures', async () => {
    for (const v of [true, false]) {
      const ex = await checkGradient(ifModel([boolConst('cond', v)]), { x: xFeed() });
      expect(ex.reports.find((r) => r.canonicalizer === 'control-flow')!.detail).toMatch(v ? /then branch/ : /else branch/);
    }
  });

  it('a condition computed from static shapes (Equal(Gather(Shape(x), 0), 2)) is decided at compile time', async () => {
    const cond = [
      makeNode('Shape', ['x'], ['sx'], 'shape'),
      makeNode('Gather', ['sx', 'i0'], ['d0'], 'dim0', { axis: { int: 0 } }),
      makeNode('Equal', ['d0', 'two'], ['cond'], 'eq'),
    ];
    const m = ifModel(cond);
    m.graph!.initializer.push(int64Tensor('i0', [0], []), int64Tensor('two', [2], []));
    const ex = await checkGradient(m, { x: xFeed() });
    expect(ex.reports.find((r) => r.canonicalizer === 'control-flow')!.detail).toMatch(/true at compile time: the then branch/);
  });

  it('a condition on a run-time value: both branches, selected by Where; the gradient follows the taken one', async () => {
    const m = ifModel([makeNode('Cast', ['flag'], ['cond'], 'cast', { to: { int: 9 } })], [typed('flag', 7, [])]);
    for (const flag of [1n, 0n]) {
      const ex = await checkGradient(m, { x: xFeed(), flag: { data: BigInt64Array.of(flag), dims: [], type: 'int64' } });
      expect(ex.reports.find((r) => r.canonicalizer === 'control-flow')!.detail).toMatch(/known only at run time: both branches/);
    }
  });

  it('a run-time condition with branches of different ranks stays an If: inspect reports it (and what is inside), compile refuses it', () => {
    const m = ifModel([makeNode('Cast', ['flag'], ['cond'], 'cast', { to: { int: 9 } })], [typed('flag', 7, [])], true);
    const r = inspectModel(m, 'epsilon-plus');
    expect(r.subgraphOps).toMatchObject({ Mul: 2, Tanh: 1, Unsqueeze: 1 });
    expect(r.unsupported.map((u) => u.op)).toEqual(['If']);
    expect(() => compileExplainer(m, { method: 'gradient' })).toThrow(/If/);
  });

  it('compile-time specialisation binds a small integer input (a sample rate, a flag): the If is then inlined', async () => {
    const m = ifModel([makeNode('Cast', ['flag'], ['cond'], 'cast', { to: { int: 9 } })], [typed('flag', 7, [])], true);
    const feeds = { x: xFeed(), flag: { data: BigInt64Array.of(1n), dims: [], type: 'int64' as const } };
    const ex = compileExplainer(m, { method: 'gradient', specialize: { shapes: { x: X }, values: { flag: [1] } } });
    expect(ex.reports.find((r) => r.canonicalizer === 'control-flow')!.detail).toMatch(/true at compile time/);
    const out = await run(ex.bytes(), { ...feeds, [ex.seedName]: { data: Float32Array.of(1), dims: [1, 1] } });
    expect(out[ex.scoresName]![0]).toBeCloseTo((await run(m, feeds)).y![0]!, 5);
  });
});

describe('Loop and Scan', () => {
  it('Loop with a constant trip count: unrolled, carried value and scan output', async () => {
    // v ← tanh(v ⊙ w + 0.1·i), 3 times; out = v_final + Σ of the per-iteration scan outputs (stacked [3, 2, 3]).
    const body = {
      inputs: [typed('i', 7, []), typed('c_in', 9, []), valueInfo('v_in', X)],
      nodes: [
        makeNode('Cast', ['i'], ['i_f'], 'icast', { to: { int: 1 } }),
        makeNode('Mul', ['i_f', 'tenth'], ['i_s'], 'iscale'),
        makeNode('Mul', ['v_in', 'w'], ['vw'], 'vw'),
        makeNode('Add', ['vw', 'i_s'], ['vwi'], 'vwi'),
        makeNode('Tanh', ['vwi'], ['v_out'], 'tanh'),
        makeNode('Identity', ['c_in'], ['c_out'], 'cid'),
        makeNode('Mul', ['v_out', 'v_out'], ['scan_out'], 'sq'),
      ],
      outputs: [typed('c_out', 9, []), valueInfo('v_out', X), valueInfo('scan_out', X)],
    };
    const loop = makeNode('Loop', ['M', 'c0', 'x'], ['v_final', 'stack'], 'loop');
    loop.attribute.push(graphAttr('body', body));
    const m = buildModel({
      nodes: [boolConst('c0', true), loop, makeNode('ReduceSum', ['stack', 'ax0'], ['ssum'], 'ssum', { keepdims: { int: 0 } }), makeNode('Add', ['v_final', 'ssum'], ['t'], 'tot'), ...head('t')],
      initializers: [int64Tensor('M', [3], []), floatTensor('w', uniform(rng(5), 6, -1.5, 1.5), X), floatTensor('tenth', Float32Array.of(0.1), []), int64Tensor('ax0', [0], [1]), ...headInits()],
      inputs: [valueInfo('x', X)],
      outputs: [valueInfo('y', [1, 1])],
      opset: 17,
    });
    const ex = await checkGradient(m, { x: xFeed() });
    expect(ex.reports.find((r) => r.canonicalizer === 'control-flow')!.detail).toMatch(/trip count 3/);
  });

  it.each([[0, 0], [1, 1]])('Scan over a static axis (input direction %i, output direction %i): unrolled', async (inDir, outDir) => {
    // state ← tanh(state + x_t ⊙ w_t) over the rows of x [2, 3] (scan axis 1: 3 steps of [2]); scan output state².
    const body = {
      inputs: [valueInfo('s_in', [2]), valueInfo('x_t', [2])],
      nodes: [makeNode('Mul', ['x_t', 'wt'], ['xw'], 'xw'), makeNode('Add', ['s_in', 'xw'], ['pre'], 'pre'), makeNode('Tanh', ['pre'], ['s_out'], 'tanh'), makeNode('Mul', ['s_out', 's_out'], ['o'], 'sq')],
      outputs: [valueInfo('s_out', [2]), valueInfo('o', [2])],
    };
    const scan = makeNode('Scan', ['s0', 'x'], ['s_final', 'os'], 'scan', { num_scan_inputs: { int: 1 }, scan_input_axes: { ints: [1] }, scan_input_directions: { ints: [inDir] }, scan_output_axes: { ints: [1] }, scan_output_directions: { ints: [outDir] } });
    scan.attribute.push(graphAttr('body', body));
    const m = buildModel({
      nodes: [scan, makeNode('Mul', ['os', 'ramp'], ['osr'], 'ramp'), makeNode('Add', ['osr', 's_final_b'], ['t'], 'tot'), makeNode('Unsqueeze', ['s_final', 'ax1'], ['s_final_b'], 'sfb'), ...head('t')],
      initializers: [floatTensor('s0', Float32Array.of(0.2, -0.3), [2]), floatTensor('wt', Float32Array.of(1.3, -0.7), [2]), floatTensor('ramp', Float32Array.of(1, 2, 3), [3]), int64Tensor('ax1', [1], [1]), ...headInits()],
      inputs: [valueInfo('x', X)],
      outputs: [valueInfo('y', [1, 1])],
      opset: 17,
    });
    const ex = await checkGradient(m, { x: xFeed() });
    expect(ex.reports.find((r) => r.canonicalizer === 'control-flow')!.detail).toMatch(/scan length 3/);
  });
});

describe('constant folding and reflect padding', () => {
  it('Slice/Concat/Unsqueeze of a weight fold into one initializer; the function is unchanged', async () => {
    const m = buildModel({
      nodes: [
        makeNode('Slice', ['W', 's0', 'e0', 'a1'], ['wa'], 'sa'),
        makeNode('Slice', ['W', 'e0', 'e1', 'a1'], ['wb'], 'sb'),
        makeNode('Concat', ['wb', 'wa'], ['wc'], 'cat', { axis: { int: 1 } }),
        makeNode('MatMul', ['x', 'wc'], ['t'], 'mm'),
        ...head('t'),
      ],
      initializers: [floatTensor('W', uniform(rng(4), 9, -1, 1), [3, 3]), int64Tensor('s0', [0]), int64Tensor('e0', [1]), int64Tensor('e1', [9223372036854775807n]), int64Tensor('a1', [1]), ...headInits()],
      inputs: [valueInfo('x', X)],
      outputs: [valueInfo('y', [1, 1])],
    });
    const ex = await checkGradient(m, { x: xFeed() });
    expect(ex.reports.filter((r) => r.canonicalizer === 'fold-constants')).toHaveLength(3);
    expect(ex.units.some((u) => u.kind === 'dense')).toBe(true);
  });

  it.each(['reflect', 'edge', 'wrap'])('Pad mode %s: the gradient scatters back to the copied elements', async (mode) => {
    const m = buildModel({
      nodes: [makeNode('Pad', ['x', 'pads'], ['p'], 'pad', { mode: { string: mode } }), makeNode('Tanh', ['p'], ['pt'], 'tanh'), makeNode('Mul', ['pt', 'wp'], ['pw'], 'pw'), makeNode('ReduceSum', ['pw', 'all'], ['y0'], 'sum', { keepdims: { int: 0 } }), makeNode('Reshape', ['y0', 'one_one'], ['y'], 'y')],
      initializers: [int64Tensor('pads', [0, 2, 1, 1]), floatTensor('wp', uniform(rng(8), 3 * 6, -1, 1), [3, 6]), int64Tensor('all', [0, 1], [2]), int64Tensor('one_one', [1, 1], [2])],
      inputs: [valueInfo('x', X)],
      outputs: [valueInfo('y', [1, 1])],
      opset: mode === 'wrap' ? 19 : 17,
    });
    await checkGradient(m, { x: xFeed() });
  });
});

describe('inspect and compile agree', () => {
  const FIXTURES = join(import.meta.dirname, '../fixtures');
  const models: [string, Uint8Array][] = [
    ...readdirSync(join(FIXTURES, 'conformance/models')).filter((f) => f.endsWith('.onnx')).map((f) => [`conformance/${f}`, new Uint8Array(readFileSync(join(FIXTURES, 'conformance/models', f)))] as [string, Uint8Array]),
    ...readdirSync(join(FIXTURES, 'recurrent')).filter((f) => f.endsWith('.onnx')).map((f) => [`recurrent/${f}`, new Uint8Array(readFileSync(join(FIXTURES, 'recurrent', f)))] as [string, Uint8Array]),
  ];
  const flag = [typed('flag', 7, [])];
  const built: [string, ModelProto][] = [
    ['If on a constant', ifModel([boolConst('cond', true)])],
    ['If on a run-time flag', ifModel([makeNode('Cast', ['flag'], ['cond'], 'cast', { to: { int: 9 } })], flag)],
    ['If on a run-time flag, branches of different ranks', ifModel([makeNode('Cast', ['flag'], ['cond'], 'cast', { to: { int: 9 } })], flag, true)],
  ];
  it.each([...models.map(([n, b]) => [n, parseModel(b)] as [string, ModelProto]), ...built])('%s', (_name, model) => {
    for (const composite of ['epsilon-plus-flat', 'gradient']) {
      const r = inspectModel(model, composite === 'gradient' ? 'epsilon-plus' : composite);
      let error: unknown;
      try {
        compileExplainer(model, composite === 'gradient' ? { method: 'gradient' } : { method: 'lrp', composite });
      } catch (e) {
        error = e;
      }
      if (composite === 'gradient') continue;
      expect(r.unsupported.length === 0, `inspect: ${JSON.stringify(r.unsupported)}; compile: ${String(error)}`).toBe(error === undefined);
    }
  });
});
