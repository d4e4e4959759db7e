import { describe, expect, it } from 'vitest';
import { buildTransformer, type TransformerSpec } from '../../bench/transformers.js';
import { Graph } from '../../src/ir/graph.js';
import { inferShapes } from '../../src/ops/shapes.js';
import { findNormRegions } from '../../src/canonicalize/normalization.js';
import { findTokenEmbeddings, pickTokenEmbedding } from '../../src/compiler/sources.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';

const base: TransformerSpec = { kind: 'encoder', layers: 2, hidden: 8, heads: 2, ffn: 16, vocab: 20, maxPositions: 8, classes: 2, norm: 'layernorm', act: 'gelu-erf', preNorm: false, opset: 17, attentionMask: true, tokenTypes: true };

describe('findNormRegions', () => {
  it('finds every decomposed LayerNorm (post-norm: embeddings + 2 per layer) with its √(var+ε) as the statistic', () => {
    const g = new Graph(buildTransformer({ ...base, norm: 'layernorm-decomposed', opset: 14 }));
    const regions = findNormRegions(g);
    expect(regions.length).toBe(5);
    for (const r of regions) {
      expect(r.name).toBe('LayerNorm');
      expect(g.producer(r.statistic)!.opType).toBe('Sqrt');
      // The whole layer: centring, variance branch, division, then γ and β.
      expect(r.nodes.map((n) => n.opType)).toEqual(['ReduceMean', 'Sub', 'Pow', 'ReduceMean', 'Add', 'Sqrt', 'Div', 'Mul', 'Add']);
      expect(r.nodes[0]!.input[0]).toBe(r.input);
      expect(r.output).toBe(r.nodes.at(-1)!.output[0]);
    }
  });

  it('finds RMSNorm written with Reciprocal and Mul (pre-norm: 2 per layer + final)', () => {
    const regions = findNormRegions(new Graph(buildTransformer({ ...base, norm: 'rmsnorm', preNorm: true })));
    expect(regions.length).toBe(5);
    expect(regions.every((r) => r.name === 'RMSNorm' && r.nodes.at(-1)!.opType === 'Mul')).toBe(true);
  });

  it('finds nothing in a model with LayerNormalization ops, nor in x / √(mean(y²)) for another y', () => {
    expect(findNormRegions(new Graph(buildTransformer(base)))).toEqual([]);
    const m = buildModel({
      nodes: [
        makeNode('Pow', ['y', 'two'], ['sq'], 'pow'),
        makeNode('ReduceMean', ['sq'], ['ms'], 'rm', { axes: { ints: [-1] } }),
        makeNode('Sqrt', ['ms'], ['rms'], 'sqrt'),
        makeNode('Div', ['x', 'rms'], ['out'], 'div'),
      ],
      initializers: [floatTensor('two', Float32Array.of(2), [])],
      inputs: [valueInfo('x', [1, 4]), valueInfo('y', [1, 4])],
      outputs: [valueInfo('out', [1, 4])],
    });
    expect(findNormRegions(new Graph(m))).toEqual([]);
  });
});

describe('token embeddings', () => {
  it('finds the word and token-type lookups on integer inputs (not the position table), and picks the word embedding', () => {
    const g = new Graph(buildTransformer(base));
    const all = findTokenEmbeddings(g, inferShapes(g));
    expect(all.map((e) => [e.input, e.vocabSize, e.hidden])).toEqual([['input_ids', 20, 8], ['token_type_ids', 2, 8]]);
    expect(pickTokenEmbedding(all)!.input).toBe('input_ids');
    expect(pickTokenEmbedding(all, 'token_type_ids')!.vocabSize).toBe(2);
    expect(pickTokenEmbedding([])).toBeUndefined();
  });
});
