/**
 * placeSeedIndependentNodes reorders a compiled graph so that ONNX Runtime computes LRP's z = f(x; W⁺) late (it
 * reads x, which the backward pass keeps anyway) and masks early (they free the activation they read): the node
 * list must stay a valid topological order, the moved nodes must sit before the relevance chain, and the
 * function must be unchanged.
 */
import type { GraphProto, NodeProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { compileExplainer } from '../../src/compiler/compile.js';
import { placeSeedIndependentNodes } from '../../src/compiler/schedule.js';
import { buildModel, floatTensor, makeNode, rng, runModel, uniform, valueInfo } from '../helpers/onnx.js';

function isTopological(g: GraphProto): boolean {
  const have = new Set<string>(['', ...g.input.map((i) => i.name), ...g.initializer.map((i) => i.name)]);
  for (const n of g.node) {
    if (!n.input.every((i) => have.has(i))) return false;
    n.output.forEach((o) => have.add(o));
  }
  return true;
}

// x → Conv → Relu → Conv → Relu → Flatten → Gemm: two ZPlus layers with non-negative inputs after the first.
const model = (r = rng(7)) =>
  buildModel({
    nodes: [
      makeNode('Conv', ['x', 'W1', 'b1'], ['a1'], 'conv1', { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }),
      makeNode('Relu', ['a1'], ['h1'], 'relu1'),
      makeNode('Conv', ['h1', 'W2', 'b2'], ['a2'], 'conv2', { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }),
      makeNode('Relu', ['a2'], ['h2'], 'relu2'),
      makeNode('Flatten', ['h2'], ['f'], 'flat'),
      makeNode('Gemm', ['f', 'W3', 'b3'], ['y'], 'fc', { transB: { int: 1 } }),
    ],
    initializers: [
      floatTensor('W1', uniform(r, 4 * 2 * 9), [4, 2, 3, 3]), floatTensor('b1', uniform(r, 4), [4]),
      floatTensor('W2', uniform(r, 4 * 4 * 9), [4, 4, 3, 3]), floatTensor('b2', uniform(r, 4), [4]),
      floatTensor('W3', uniform(r, 3 * 4 * 16), [3, 64]), floatTensor('b3', uniform(r, 3), [3]),
    ],
    inputs: [valueInfo('x', ['batch', 2, 4, 4])],
    outputs: [valueInfo('y', ['batch', 3])],
  });

describe('placeSeedIndependentNodes', () => {
  it('moves LRP z-convolutions of kept activations ahead of the relevance chain, in a valid order', () => {
    const c = compileExplainer(model(), { method: 'lrp', composite: 'epsilon-plus' });
    const g = c.model.graph!;
    expect(isTopological(g)).toBe(true);
    const pos = (n: NodeProto) => g.node.indexOf(n);
    const seedMul = g.node.find((n) => n.input.includes(c.seedName))!;
    // conv2's ZPlus z reads h1 ≥ 0 with W⁺: a Conv on h1 emitted by the compiler.
    const zConv = g.node.find((n) => n.opType === 'Conv' && n.input[0] === 'h1' && n.name !== 'conv2')!;
    expect(zConv).toBeDefined();
    expect(pos(zConv)).toBeLessThan(pos(seedMul));
    // Right after its input exists: before conv2's forward successors.
    expect(pos(zConv)).toBeLessThan(pos(g.node.find((n) => n.name === 'flat')!));
  });

  it('leaves masks that free their activation where the compiler put them (after the forward pass)', () => {
    const c = compileExplainer(model(), { method: 'gradient' });
    const g = c.model.graph!;
    expect(isTopological(g)).toBe(true);
    const fc = g.node.findIndex((n) => n.name === 'fc');
    const masks = g.node.filter((n) => n.opType === 'Greater');
    expect(masks.length).toBe(2);
    for (const m of masks) expect(g.node.indexOf(m)).toBeGreaterThan(fc);
  });

  it('computes the same attributions as the unreordered graph', async () => {
    const c = compileExplainer(model(), { method: 'lrp', composite: 'epsilon-plus' });
    const reordered = c.model.graph!.node.slice();
    // Rebuild the order the compiler emitted before scheduling: forward nodes first, then compiled nodes by name.
    const plain = compileExplainer(model(), { method: 'lrp', composite: 'epsilon-plus' });
    const forward = new Set(plain.model.graph!.node.filter((n) => !n.name.startsWith('xsys/') && !n.name.startsWith('attribution_')));
    plain.model.graph!.node = [...plain.model.graph!.node.filter((n) => forward.has(n)), ...plain.model.graph!.node.filter((n) => !forward.has(n)).sort((a, b) => reordered.indexOf(a) - reordered.indexOf(b))];
    const x = uniform(rng(3), 2 * 32);
    const seed = Float32Array.of(1, 0, 0, 0, 0, 1);
    const feeds = { x: { data: x, dims: [2, 2, 4, 4] }, [c.seedName]: { data: seed, dims: [2, 3] } };
    const a = (await runModel(c.bytes(), feeds))[c.attributionNames.x!]!.data;
    const b = (await runModel(plain.bytes(), feeds))[plain.attributionNames.x!]!.data;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(a.some((v) => v !== 0)).toBe(true);
  });

  it('keeps the order when nothing is seed-independent and is idempotent', () => {
    const c = compileExplainer(model(), { method: 'lrp', composite: 'epsilon-plus' });
    const g = c.model.graph!;
    const before = g.node.map((n) => n.name);
    const forward = new Set(g.node.filter((n) => ['conv1', 'relu1', 'conv2', 'relu2', 'flat', 'fc'].includes(n.name)));
    placeSeedIndependentNodes(g, forward, c.seedName);
    expect(isTopological(g)).toBe(true);
    expect(g.node.map((n) => n.name)).toEqual(before);
  });
});
