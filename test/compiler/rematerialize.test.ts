/**
 * rematerializeAttention: the backward pass reads a recomputed copy of each attention-probability tensor when it can
 * be rebuilt from q and kᵀ (kept anyway) and masks, so the forward copy is freed after the forward pass. The copy
 * must be the only one the backward reads, it must not be mergeable into the forward by CSE, CP-LRP (no gradient
 * into q, k) must keep the forward copy, and the numbers must not change (the transformer conformance checks
 * them against LXT as well).
 */
import { describe, expect, it } from 'vitest';
import { compileExplainer } from '../../src/compiler/compile.js';
import { buildTransformer, type TransformerSpec } from '../../bench/transformers.js';

const spec: TransformerSpec = { kind: 'encoder', layers: 2, hidden: 16, heads: 2, ffn: 32, vocab: 50, maxPositions: 12, classes: 3, norm: 'layernorm', act: 'gelu-erf', preNorm: false, opset: 17, attentionMask: true };

describe('rematerializeAttention', () => {
  it('gives every backward reader of a softmax a recomputed copy (AttnLRP), with the mask and a CSE-distinct q', () => {
    const c = compileExplainer(buildTransformer(spec), { method: 'lrp', composite: 'attnlrp' });
    const nodes = c.model.graph!.node;
    const forwardSoftmax = nodes.filter((n) => n.opType === 'Softmax' && !n.name.startsWith('xsys/'));
    const copies = nodes.filter((n) => n.opType === 'Softmax' && n.name.startsWith('xsys/remat_'));
    expect(forwardSoftmax).toHaveLength(spec.layers);
    expect(copies).toHaveLength(spec.layers);
    for (const s of forwardSoftmax) {
      // Only forward nodes read the forward probabilities now.
      for (const r of nodes.filter((n) => n.input.includes(s.output[0]!))) expect(r.name.startsWith('xsys/')).toBe(false);
    }
    for (const s of copies) expect(nodes.some((n) => n.name.startsWith('xsys/') && !n.name.startsWith('xsys/remat_') && n.input.includes(s.output[0]!))).toBe(true);
    // The recomputed q·kᵀ reads q through a Reshape, so it is not the forward MatMul's exact twin.
    const mm = nodes.filter((n) => n.opType === 'MatMul' && n.name.startsWith('xsys/remat_'));
    expect(mm).toHaveLength(spec.layers);
    for (const m of mm) expect(nodes.find((n) => n.output.includes(m.input[0]!))!.opType).toBe('Reshape');
    // The additive padding mask is part of the recomputed chain.
    expect(nodes.some((n) => n.opType === 'Add' && n.name.startsWith('xsys/remat_'))).toBe(true);
  });

  it('leaves CP-LRP alone: q and k get no gradient, so recomputing would keep them only for this', () => {
    const c = compileExplainer(buildTransformer(spec), { method: 'lrp', composite: 'cp-lrp' });
    expect(c.model.graph!.node.some((n) => n.name.startsWith('xsys/remat_'))).toBe(false);
  });
});
