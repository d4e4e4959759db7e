import { attrInts, attrString, makeAttr } from '../onnx/attributes.js';
import type { Graph } from '../ir/graph.js';
import type { ValueInfo } from '../ir/shapes.js';
import type { Canonicalizer, CanonReport } from './types.js';

const SPATIAL_OPS = new Set(['Conv', 'MaxPool', 'AveragePool']);

/**
 * Replaces auto_pad=SAME_UPPER/SAME_LOWER/VALID by explicit pads, so that backward ops can use the same geometry.
 * With stride 1 the padding does not depend on the input size; otherwise static spatial dims are needed.
 */
export const explicitPads: Canonicalizer = {
  name: 'explicit-pads',
  apply(g: Graph, info: Map<string, ValueInfo>) {
    const reports: CanonReport[] = [];
    for (const n of g.nodes) {
      if (!SPATIAL_OPS.has(n.opType)) continue;
      const mode = attrString(n, 'auto_pad', 'NOTSET');
      if (mode === 'NOTSET') continue;
      const kernel = attrInts(n, 'kernel_shape') ?? g.constant(n.input[1] ?? '')?.dims.slice(2);
      if (!kernel) continue;
      const k = kernel.length;
      const strides = attrInts(n, 'strides') ?? new Array<number>(k).fill(1);
      const dil = attrInts(n, 'dilations') ?? new Array<number>(k).fill(1);
      const inShape = info.get(n.input[0]!)?.shape?.slice(2);
      let pads: number[] | undefined;
      if (mode === 'VALID') pads = new Array<number>(2 * k).fill(0);
      else {
        const begin: number[] = [];
        const end: number[] = [];
        let ok = true;
        kernel.forEach((kk, i) => {
          const eff = (kk - 1) * dil[i]! + 1;
          const s = strides[i]!;
          const d = inShape?.[i];
          let total: number;
          if (s === 1) total = eff - 1;
          else if (typeof d === 'number') total = Math.max(0, (Math.ceil(d / s) - 1) * s + eff - d);
          else {
            ok = false;
            return;
          }
          const small = Math.floor(total / 2);
          begin.push(mode === 'SAME_LOWER' ? total - small : small);
          end.push(mode === 'SAME_LOWER' ? small : total - small);
        });
        if (ok) pads = [...begin, ...end];
      }
      if (!pads) continue;
      n.attribute = n.attribute.filter((a) => a.name !== 'auto_pad' && a.name !== 'pads');
      n.attribute.push(makeAttr('pads', { ints: pads }));
      reports.push({ canonicalizer: 'explicit-pads', node: n.name, detail: `auto_pad=${mode} → pads [${pads.join(', ')}]` });
    }
    return reports;
  },
};
