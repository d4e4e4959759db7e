import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import type { ActivationRegion, NormRegion } from '../canonicalize/types.js';
import type { Unit } from '../ir/unit.js';
import { opSpec } from '../ops/index.js';
import type { UnitMatch } from '../ops/op.js';

export { UNIT_KINDS, type LinearInfo, type Unit, type UnitKind } from '../ir/unit.js';

/**
 * The tensors of a unit whose cotangents the backward pass reads: every output of a one-node unit (an LSTM's
 * explained output may be its second), else the unit's output. A unit is on the explained path when one is needed.
 */
export function unitOutputs(u: Unit): string[] {
  return u.nodes.length === 1 ? u.last.output.filter(Boolean) : [u.output];
}

/**
 * Groups the graph's nodes into the units rules apply to: recognised activation and normalisation regions first,
 * then one unit per node as its op's registry entry says (a MatMul may absorb its bias Add).
 */
export function buildUnits(g: Graph, regions: readonly ActivationRegion[], norms: readonly NormRegion[] = []): Unit[] {
  const inRegion = new Map<NodeProto, ActivationRegion>();
  for (const r of regions) for (const n of r.nodes) inRegion.set(n, r);
  const inNorm = new Map<NodeProto, NormRegion>();
  for (const r of norms) for (const n of r.nodes) inNorm.set(n, r);
  const absorbed = new Set<NodeProto>();
  const units: Unit[] = [];
  for (const n of g.nodes) {
    if (absorbed.has(n)) continue;
    const region = inRegion.get(n);
    if (region) {
      if (n === region.nodes[region.nodes.length - 1]) {
        units.push({ kind: 'activation', name: region.nodes.map((m) => m.name).join('+'), opType: region.name, nodes: region.nodes, last: n, output: region.output });
      }
      continue;
    }
    const norm = inNorm.get(n);
    if (norm) {
      if (n === norm.nodes[norm.nodes.length - 1]) {
        units.push({ kind: 'norm', name: norm.nodes.map((m) => m.name).join('+'), opType: norm.name, nodes: norm.nodes, last: n, output: norm.output, statistics: [norm.statistic] });
      }
      continue;
    }
    // What the op registry says about the node: its own unit rule, else an activation or an 'other' unit.
    const spec = opSpec(n.opType);
    const match: UnitMatch = spec?.unit?.(g, n) ?? { kind: spec?.kind === 'activation' ? 'activation' : 'other' };
    if (match.absorb) {
      absorbed.add(match.absorb);
      const a = match.absorb;
      units.push({ kind: match.kind, name: `${n.name}+${a.name}`, opType: n.opType, nodes: [n, a], last: a, output: a.output[0]!, linear: match.linear });
    } else units.push({ kind: match.kind, name: n.name, opType: n.opType, nodes: [n], last: n, output: n.output[0]!, linear: match.linear, ...(match.gate ? { gate: match.gate } : {}) });
  }
  return units;
}
