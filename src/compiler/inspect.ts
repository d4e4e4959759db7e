import type { ModelProto, NodeProto } from 'onnx-buf';
import { NON_DIFFERENTIABLE } from '../ops/index.js';
import type { CanonReport } from '../canonicalize/index.js';
import { namedComposite, type Composite, type RuleAssignment } from '../composites/index.js';
import { Graph } from '../ir/graph.js';
import type { Dim } from '../ir/shapes.js';
import { cloneModel, defaultOpset } from '../onnx/model.js';
import { cannotPropagate, nodeVjp } from './backward.js';
import { planCompilation, unitsReached } from './plan.js';

export interface Inspection {
  opset: number;
  inputs: { name: string; shape?: Dim[]; elemType: number }[];
  outputs: { name: string; shape?: Dim[] }[];
  explained: string;
  ops: Record<string, number>;
  /** Ops inside If branches and Loop/Scan bodies of the given model (nested ones included). */
  subgraphOps: Record<string, number>;
  canonicalization: CanonReport[];
  composite: string;
  units: { name: string; op: string; kind: string; rule: string; output: string; shape?: Dim[] }[];
  unsupported: { node: string; op: string; hint: string }[];
}

/** How inspect (and the compiled explainer's record of applied rules) writes a rule: name(param=value,…). */
/** What inspect lists for a unit no relevance reaches (a squeeze-excitation gate's branch under signal-take-all). */
export const UNREACHED = 'none (no relevance reaches it)';

export function describeRule(r: RuleAssignment | undefined): string {
  if (!r) return 'gradient';
  const p = Object.entries(r.params).filter(([, v]) => !Number.isNaN(v)).map(([k, v]) => `${k}=${v}`).join(',');
  return `${r.rule.name}${p ? `(${p})` : ''}`;
}

/**
 * What `xsys inspect` shows: the compiler's own front half (compiler/plan.ts) run on a copy of the model, so the rules
 * listed are the rules the compiled explainer applies. A composite given by name takes `params`; a Composite object
 * (e.g. read from a JSON file by the caller) carries its own.
 */
export function inspectModel(model: ModelProto, composite: string | Composite, params: Record<string, number> = {}): Inspection {
  const opset = defaultOpset(model);
  // The model as given (before canonicalisation): its op histogram, inputs and outputs.
  const given = new Graph(cloneModel(model));
  const ops: Record<string, number> = {};
  for (const n of given.nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
  const subgraphOps: Record<string, number> = {};
  const count = (nodes: readonly NodeProto[]): void => {
    for (const n of nodes) for (const a of n.attribute) for (const sub of a.g ? [a.g, ...a.graphs] : a.graphs) {
      for (const m of sub.node) subgraphOps[m.opType] = (subgraphOps[m.opType] ?? 0) + 1;
      count(sub.node);
    }
  };
  count(given.nodes);
  const comp = typeof composite === 'string' ? namedComposite(composite, params) : composite;
  // A model the compiler would refuse (nothing to explain) is still described, with every unit under 'gradient'.
  const plan = planCompilation(cloneModel(model), { composite: comp, requireExplainable: false });
  const { info, explained, explainedUnits: units, assignments: rules } = plan;
  const reached = unitsReached(plan);
  const unsupported: Inspection['unsupported'] = [];
  for (const u of units) {
    if (rules.has(u) || !reached.has(u)) continue;
    for (const n of u.nodes) {
      // The test compile applies (compiler/backward.ts), so inspect refuses exactly what compile refuses.
      if (nodeVjp(n)) continue;
      const e = cannotPropagate(n);
      unsupported.push({ node: n.name, op: n.opType, hint: e.hint ?? e.message });
      // Control flow the canonicaliser could not resolve: what is inside it, and what inside has no gradient.
      for (const [where, m] of subgraphNodes(n)) {
        if (!nodeVjp(m) && !NON_DIFFERENTIABLE.has(m.opType) && !SUBGRAPH_OK.has(m.opType)) {
          unsupported.push({ node: `${n.name}/${where}/${m.name || m.output[0]}`, op: m.opType, hint: `inside ${n.opType} '${n.name}' (${where}): ${cannotPropagate(m).hint ?? ''}` });
        }
      }
    }
  }
  return {
    opset,
    inputs: given.inputs.map((i) => ({ name: i.name, shape: info.get(i.name)?.shape, elemType: info.get(i.name)?.elemType ?? 0 })),
    outputs: given.outputs.map((o) => ({ name: o.name, shape: info.get(o.name)?.shape })),
    explained: explained.skipped ? `${explained.scores} (input of the terminal ${explained.skipped})` : explained.scores,
    ops,
    subgraphOps,
    canonicalization: plan.canon.reports,
    composite: comp.name,
    units: units.map((u) => ({ name: u.name, op: u.opType, kind: u.kind, rule: reached.has(u) ? describeRule(rules.get(u)) : UNREACHED, output: u.output, shape: info.get(u.output)?.shape })),
    unsupported,
  };
}

/** Ops that may sit inside a subgraph without a gradient of their own (they produce no float values to differentiate). */
const SUBGRAPH_OK = new Set(['Constant', 'Identity', 'If', 'Loop', 'Scan']);

/** The nodes inside a node's subgraphs (nested ones too), each with the attribute path it sits under. */
function subgraphNodes(n: NodeProto, prefix = ''): [string, NodeProto][] {
  const out: [string, NodeProto][] = [];
  for (const a of n.attribute) {
    for (const sub of a.g ? [a.g, ...a.graphs] : a.graphs) {
      for (const m of sub.node) {
        out.push([`${prefix}${a.name}`, m]);
        out.push(...subgraphNodes(m, `${prefix}${a.name}/${m.name || m.opType}/`));
      }
    }
  }
  return out;
}

const fmtShape = (s?: Dim[]) => (s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '[?]');

export function formatInspection(x: Inspection): string {
  const lines: string[] = [];
  lines.push(`opset ${x.opset}`);
  lines.push('inputs:');
  for (const i of x.inputs) lines.push(`  ${i.name} ${fmtShape(i.shape)} ${i.elemType === 1 ? 'float32' : `type ${i.elemType}`}`);
  lines.push('outputs:');
  for (const o of x.outputs) lines.push(`  ${o.name} ${fmtShape(o.shape)}`);
  lines.push(`explained scores: ${x.explained}`);
  lines.push('ops: ' + Object.entries(x.ops).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}×${v}`).join('  '));
  if (Object.keys(x.subgraphOps).length) lines.push('ops inside If/Loop/Scan subgraphs: ' + Object.entries(x.subgraphOps).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}×${v}`).join('  '));
  if (x.canonicalization.length) {
    lines.push('canonicalisation:');
    for (const r of x.canonicalization) lines.push(`  ${r.canonicalizer}: ${r.node} — ${r.detail}`);
  }
  lines.push(`rules under ${x.composite}:`);
  const w = Math.min(60, Math.max(...x.units.map((u) => u.name.length), 4));
  for (const u of x.units) lines.push(`  ${u.name.padEnd(w)}  ${u.op.padEnd(18)} ${u.kind.padEnd(10)} ${u.rule.padEnd(28)} ${fmtShape(u.shape)}`);
  if (x.unsupported.length) {
    lines.push('UNSUPPORTED nodes on the explained path:');
    for (const u of x.unsupported) lines.push(`  ${u.node} (${u.op}): ${u.hint}`);
  } else lines.push('all nodes on the explained path are supported');
  return lines.join('\n') + '\n';
}
