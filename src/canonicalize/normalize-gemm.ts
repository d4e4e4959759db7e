import type { NodeProto } from 'onnx-buf';
import { attrInt, getAttr, makeNode } from '../onnx/attributes.js';
import { asFloat32, floatTensor } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';
import type { Canonicalizer, CanonReport } from './types.js';

/**
 * Brings every Gemm with a constant B into the form x·op(B) + C with alpha = beta = 1 and transA = 0, so that rules
 * see one linear layer f(x; W, b) whose weights can be split into positive and negative parts.
 */
export const normalizeGemm: Canonicalizer = {
  name: 'normalize-gemm',
  apply(g: Graph) {
    const reports: CanonReport[] = [];
    let inserted: NodeProto[] = [];
    for (const n of g.nodes) {
      if (n.opType !== 'Gemm' || !g.isConstant(n.input[1]!)) continue;
      const alpha = getAttr(n, 'alpha')?.f ?? 1;
      const beta = getAttr(n, 'beta')?.f ?? 1;
      const transA = attrInt(n, 'transA', 0);
      const changes: string[] = [];
      if (alpha !== 1) {
        const w = g.constant(n.input[1]!)!;
        n.input[1] = g.addInitializer(floatTensor(g.fresh(`${n.input[1]}_alpha`), asFloat32(w).map((v) => v * alpha), w.dims));
        n.attribute = n.attribute.filter((a) => a.name !== 'alpha');
        changes.push(`alpha ${alpha} folded into B`);
      }
      if (beta !== 1 && n.input[2]) {
        const c = g.constant(n.input[2]);
        if (c) {
          n.input[2] = g.addInitializer(floatTensor(g.fresh(`${n.input[2]}_beta`), asFloat32(c).map((v) => v * beta), c.dims));
          n.attribute = n.attribute.filter((a) => a.name !== 'beta');
          changes.push(`beta ${beta} folded into C`);
        }
      }
      if (transA === 1) {
        const t = g.fresh(`${n.input[0]}_T`);
        inserted.push(makeNode('Transpose', [n.input[0]!], [t], g.fresh(`${n.name}_transA`), { perm: { ints: [1, 0] } }));
        n.input[0] = t;
        n.attribute = n.attribute.filter((a) => a.name !== 'transA');
        changes.push('transA replaced by a Transpose');
      }
      if (changes.length) reports.push({ canonicalizer: 'normalize-gemm', node: n.name, detail: changes.join('; ') });
    }
    if (reports.length) g.pruneInitializers();
    if (inserted.length) {
      g.proto.node.push(...inserted);
      inserted = [];
      g.sortTopologically();
      g.reindex();
    }
    return reports;
  },
};
