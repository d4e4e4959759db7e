import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import type { Canonicalizer, CanonReport } from './types.js';

/** Identity and inference-mode Dropout compute nothing; removing them keeps layer patterns adjacent. */
export const removeIdentity: Canonicalizer = {
  name: 'remove-identity',
  apply(g: Graph) {
    const reports: CanonReport[] = [];
    const removed = new Set<NodeProto>();
    for (const n of g.nodes) {
      if (n.opType !== 'Identity' && n.opType !== 'Dropout') continue;
      if (n.opType === 'Dropout' && n.output[1] && g.consumers(n.output[1]).length) continue;
      const out = n.output[0]!;
      // A graph output keeps its name: the model's interface must not change.
      if (g.isGraphOutput(out)) continue;
      g.replaceUses(out, n.input[0]!);
      removed.add(n);
      reports.push({ canonicalizer: 'remove-identity', node: n.name, detail: `${n.opType} removed` });
    }
    if (removed.size) g.removeNodes(removed);
    return reports;
  },
};
