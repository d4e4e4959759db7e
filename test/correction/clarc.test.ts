/**
 * ClArC as ONNX nodes (weight-surgery/clarc.ts) against the formula computed here, model truncation, CAV files,
 * the region share and the localisation helpers — with numbers.
 */
import { describe, expect, it } from 'vitest';
import { insertClarc } from '../../src/weight-surgery/clarc.js';
import { truncateAt } from '../../src/weight-surgery/truncate.js';
import { parseCavFile } from '../../src/correction/correct.js';
import { maskIou, rankByArtefact, relevanceMasks } from '../../src/correction/localise.js';
import { regionShare } from '../../src/correction/reevaluate.js';
import { buildModel, floatTensor, makeNode, runModel, uniform, rng, valueInfo } from '../helpers/onnx.js';

/** x [N,2,2,2] → Relu → a (the corrected layer) → Flatten → MatMul W [8,3] → y. */
function model(opset = 17) {
  const W = uniform(rng(1), 24);
  return {
    W,
    proto: buildModel({
      opset,
      nodes: [makeNode('Relu', ['x'], ['a'], 'relu'), makeNode('Flatten', ['a'], ['f'], 'flat'), makeNode('MatMul', ['f', 'W'], ['y'], 'mm')],
      initializers: [floatTensor('W', W, [8, 3])],
      inputs: [valueInfo('x', ['N', 2, 2, 2])],
      outputs: [valueInfo('y', ['N', 3])],
    }),
  };
}

function expected(x: Float32Array, n: number, W: Float32Array, u: number[], w: number[], r: number, threshold?: number): Float32Array {
  const y = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = Array.from(x.subarray(i * 8, i * 8 + 8), (v) => Math.max(0, v));
    // u over channels broadcast to positions (channel CAV) or one per element.
    const uf = u.length === 8 ? u : a.map((_, j) => u[Math.floor(j / 4)]!);
    const wf = w.length === 8 ? w : a.map((_, j) => w[Math.floor(j / 4)]!);
    const s = a.reduce((acc, v, j) => acc + v * uf[j]!, 0);
    const g = threshold === undefined || s > threshold ? 1 : 0;
    const c = a.map((v, j) => v - g * (s - r) * wf[j]!);
    for (let k = 0; k < 3; k++) y[i * 3 + k] = c.reduce((acc, v, j) => acc + v * W[j * 3 + k]!, 0);
  }
  return y;
}

describe('insertClarc', () => {
  const x = uniform(rng(7), 4 * 8, -1, 2);
  const v = [3, 0, 4, 0, 0, 0, 0, 0]; // ‖v‖ = 5
  const u = v.map((e) => e / 5);

  it('projection: a − (uᵀa)·u, on the flattened layer (opset 17 and 11)', async () => {
    for (const opset of [17, 11]) {
      const { W, proto } = model(opset);
      const ins = insertClarc(proto, { layer: 'a', dims: [2, 2, 2], direction: v, mode: 'projection' });
      expect(ins.nodes).toHaveLength(5);
      const y = (await runModel(ins.model, { x: { data: x, dims: [4, 2, 2, 2] } })).y!;
      const want = expected(x, 4, W, u, u, 0);
      for (let i = 0; i < want.length; i++) expect(y.data[i]).toBeCloseTo(want[i]!, 5);
      // The model given is untouched.
      expect(proto.graph!.node).toHaveLength(3);
    }
  });

  it('mean-shift with r and reactive gating: only samples with uᵀa > threshold change', async () => {
    const { W, proto } = model();
    const ins = insertClarc(proto, { layer: 'a', dims: [2, 2, 2], direction: v, mode: 'mean-shift', reference: 0.25, threshold: 0.8 });
    const y = (await runModel(ins.model, { x: { data: x, dims: [4, 2, 2, 2] } })).y!;
    const want = expected(x, 4, W, u, u, 0.25, 0.8);
    for (let i = 0; i < want.length; i++) expect(y.data[i]).toBeCloseTo(want[i]!, 5);
    const plain = expected(x, 4, W, u, u, 0.25, Infinity);
    const changed = [0, 1, 2, 3].filter((i) => [0, 1, 2].some((k) => Math.abs(want[i * 3 + k]! - plain[i * 3 + k]!) > 1e-6));
    const scores = [0, 1, 2, 3].map((i) => Math.max(0, x[i * 8]!) * 0.6 + Math.max(0, x[i * 8 + 2]!) * 0.8);
    expect(changed).toEqual([0, 1, 2, 3].filter((i) => scores[i]! > 0.8));
    // Both branches of the gate are exercised.
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.length).toBeLessThan(4);
  });

  it('a channel CAV reads channel sums and writes v/(spatial size), so the corrected channel sums project to r', async () => {
    const { W, proto } = model();
    const ins = insertClarc(proto, { layer: 'a', dims: [2, 2, 2], direction: [1, 1], mode: 'mean-shift', reference: 0.5 });
    const c = Math.SQRT1_2;
    const y = (await runModel(ins.model, { x: { data: x, dims: [4, 2, 2, 2] } })).y!;
    const want = expected(x, 4, W, [c, c], [c / 4, c / 4], 0.5);
    for (let i = 0; i < want.length; i++) expect(y.data[i]).toBeCloseTo(want[i]!, 5);
  });

  it('refuses a CAV of the wrong size, an unknown layer, and mean-shift without a reference', () => {
    const { proto } = model();
    expect(() => insertClarc(proto, { layer: 'a', dims: [2, 2, 2], direction: [1, 2, 3], mode: 'projection' })).toThrow(/--cav: has 3 values; layer 'a' has 8 per sample/);
    expect(() => insertClarc(proto, { layer: 'zz', dims: [2, 2, 2], direction: v, mode: 'projection' })).toThrow(/--layer: no tensor named 'zz'/);
    expect(() => insertClarc(proto, { layer: 'a', dims: [2, 2, 2], direction: v, mode: 'mean-shift' })).toThrow(/--reference/);
    expect(() => insertClarc(proto, { layer: 'a', dims: [2, 2, 2], direction: [0, 0], mode: 'projection' })).toThrow(/zero/);
  });
});

describe('truncateAt', () => {
  it('keeps only what computes the tensor, which becomes the only output', async () => {
    const { proto } = model();
    const t = truncateAt(proto, 'a');
    expect(t.graph!.node.map((n) => n.opType)).toEqual(['Relu']);
    expect(t.graph!.initializer).toHaveLength(0);
    const x = Float32Array.of(-1, 2, 3, -4, 5, -6, 7, 8);
    const out = await runModel(t, { x: { data: x, dims: [1, 2, 2, 2] } });
    expect(Array.from(out.a!.data)).toEqual([0, 2, 3, 0, 5, 0, 7, 8]);
    expect(() => truncateAt(proto, 'x')).toThrow(/--layer: no tensor named 'x' is computed/);
  });
});

describe('CAV files', () => {
  it('reads a direction, or averages the concept runs of a tcav.json', () => {
    const own = parseCavFile(JSON.stringify({ layer: 'L', direction: [1, 2], cleanProjection: 0.5, threshold: 2 }), 'cav.json');
    expect(own).toMatchObject({ layer: 'L', reduce: 'flatten', direction: [1, 2], cleanProjection: 0.5, threshold: 2 });
    const t = parseCavFile(JSON.stringify({ layer: 'L', reduce: 'channels', cav: 'pattern', model: { sha256: 'ab' }, runs: [{ direction: [1, 0] }, { direction: [0, 1] }] }), 'tcav.json');
    expect(t).toMatchObject({ layer: 'L', reduce: 'channels', direction: [0.5, 0.5], method: 'pattern', model: 'ab' });
    expect(() => parseCavFile('{', 'x.json')).toThrow(/x.json: is not JSON/);
    expect(() => parseCavFile(JSON.stringify({ layer: 'L' }), 'x.json')).toThrow(/neither a 'direction'/);
    expect(() => parseCavFile(JSON.stringify({ layer: 'L', direction: [1], threshold: 'a' }), 'x.json')).toThrow(/'threshold' must be a finite number/);
  });
});

describe('localisation helpers', () => {
  it('masks, IoU with a region, ranking and the region share', () => {
    const heat = Float32Array.of(1, 0.5, 0.2, -3, /* sample 2 */ 0, 0, 0, 0);
    const m = relevanceMasks(heat, 2, 0.3);
    expect(Array.from(m)).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(maskIou(m, 2, Uint8Array.of(1, 0, 0, 1)))).toEqual([1 / 3, 0]);
    expect(rankByArtefact([0.1, 3, -2, 3])).toEqual([1, 3, 0, 2]);
    // Σ_region R⁺ / Σ R⁺: (1) / (1 + 0.5 + 0.2) and (2) / (2 + 2).
    const share = regionShare({ data: Float32Array.of(1, 0.5, 0.2, -3, 2, 0, 2, -1), dims: [2, 1, 2, 2] }, Uint8Array.of(1, 0, 0, 1));
    expect(share).toBeCloseTo((1 / 1.7 + 0.5) / 2, 6);
    expect(() => relevanceMasks(heat, 3)).toThrow(/not 3 equal heatmaps/);
  });
});
