import type { ModelProto } from 'onnx-buf';
import { cloneModel, defaultOpset } from '../onnx/model.js';
import { Graph } from '../ir/graph.js';
import { canonicalize, resolveExplainedOutput, type CanonReport } from '../canonicalize/index.js';
import { assignRules } from '../composites/index.js';
import { resolveComposite } from '../composites/file.js';
import { activeTensors, neededTensors } from '../compiler/analysis.js';
import { buildUnits } from '../compiler/units.js';
import { findTokenEmbeddings, pickTokenEmbedding } from '../compiler/sources.js';
import { upgradeOpset } from '../compiler/opset.js';
import { VJPS } from '../compiler/vjp/index.js';
import type { Dim } from '../ir/shapes.js';

export interface Inspection {
  opset: number;
  inputs: { name: string; shape?: Dim[]; elemType: number }[];
  outputs: { name: string; shape?: Dim[] }[];
  explained: string;
  ops: Record<string, number>;
  canonicalization: CanonReport[];
  composite: string;
  units: { name: string; op: string; kind: string; rule: string; output: string; shape?: Dim[] }[];
  unsupported: { node: string; op: string; hint: string }[];
}

/** What `xsys inspect` shows: computed on a canonicalised copy, exactly as the compiler would see the model. */
export function inspectModel(model: ModelProto, composite: string, params: Record<string, number>): Inspection {
  const opset = defaultOpset(model);
  const g0 = new Graph(cloneModel(model));
  const ops: Record<string, number> = {};
  for (const n of g0.nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
  const g = new Graph(cloneModel(model));
  upgradeOpset(g);
  const canon = canonicalize(g);
  const info = canon.info;
  const explained = resolveExplainedOutput(g);
  const floatInputs = g.inputs.filter((i) => info.get(i.name)?.elemType === 1).map((i) => i.name);
  // Token models: relevance starts at the token-embedding lookup, as in the compiler.
  const token = pickTokenEmbedding(findTokenEmbeddings(g, info));
  const active = activeTensors(g, info, token ? [...floatInputs, token.output] : floatInputs);
  const needed = neededTensors(g, active, [explained.scores]);
  const units = buildUnits(g, canon.regions, canon.norms).filter((u) => needed.has(u.output));
  const comp = resolveComposite(composite, params);
  const firstLinear = units.find((u) => u.linear);
  const rules = assignRules(comp, units, firstLinear);
  const unsupported: Inspection['unsupported'] = [];
  for (const u of units) {
    if (rules.has(u)) continue;
    for (const n of u.nodes) {
      if (!VJPS[n.opType]) unsupported.push({ node: n.name, op: n.opType, hint: `no gradient for ${n.opType}; map it to a rule (e.g. pass) in a user composite` });
    }
  }
  return {
    opset,
    inputs: g0.inputs.map((i) => ({ name: i.name, shape: info.get(i.name)?.shape, elemType: info.get(i.name)?.elemType ?? 0 })),
    outputs: g0.outputs.map((o) => ({ name: o.name, shape: info.get(o.name)?.shape })),
    explained: explained.skipped ? `${explained.scores} (input of the terminal ${explained.skipped})` : explained.scores,
    ops,
    canonicalization: canon.reports,
    composite: comp.name,
    units: units.map((u) => {
      const r = rules.get(u);
      const p = r ? Object.entries(r.params).filter(([, v]) => !Number.isNaN(v)).map(([k, v]) => `${k}=${v}`).join(',') : '';
      return { name: u.name, op: u.opType, kind: u.kind, rule: r ? `${r.rule.name}${p ? `(${p})` : ''}` : 'gradient', output: u.output, shape: info.get(u.output)?.shape };
    }),
    unsupported,
  };
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
