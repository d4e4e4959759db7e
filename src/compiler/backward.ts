import type { NodeProto } from 'onnx-buf';
import { subgraphCaptures, type Graph } from '../ir/graph.js';
import type { ValueInfo } from '../ir/shapes.js';
import type { RuleAssignment } from '../composites/resolve.js';
import { UnsupportedNodeError } from '../errors.js';
import type { Emitter } from '../ir/emitter.js';
import { NonNegativity } from './analysis.js';
import { linearOps, WeightBank } from '../rules/linear-ops.js';
import { unitOutputs, type Unit } from './units.js';
import { VJPS, type VjpContext } from '../ops/index.js';
import type { Vjp } from '../ops/context.js';
import type { MaxPoolRouting } from '../ops/context.js';
import type { PropagationForm } from '../rules/types.js';
import { inForm } from './form-adapter.js';

export interface BackwardPlan {
  units: readonly Unit[];
  rules: ReadonlyMap<Unit, RuleAssignment>;
  active: Set<string>;
  needed: Set<string>;
  /** What flows backward: relevance (classic LRP) or a modified gradient (Gradient × Input form). Default relevance. */
  form?: PropagationForm;
  /** MaxPool's backward: from the forward node's Indices (default) or by comparison (no Indices needed). */
  maxPoolRouting?: MaxPoolRouting;
  /** Filled with each unit whose rule was applied (a unit that receives no relevance applies none). */
  applied?: Map<Unit, RuleAssignment>;
}

/** Accumulates the contributions each tensor receives from its consumers. */
class Cotangents {
  private parts = new Map<string, string[]>();
  constructor(private readonly em: Emitter) {}
  add(t: string, v: string | undefined): void {
    if (!v) return;
    const list = this.parts.get(t);
    if (list) list.push(v);
    else this.parts.set(t, [v]);
  }
  take(t: string): string | undefined {
    const list = this.parts.get(t);
    if (!list) return undefined;
    const total = this.em.sum(list);
    this.parts.set(t, [total]);
    return total;
  }
}

/** Fused ops of ONNX Runtime's transformer optimiser (com.microsoft): the graph must be exported unfused. */
const FUSED = new Set(['Attention', 'MultiHeadAttention', 'GroupQueryAttention', 'SkipLayerNormalization', 'EmbedLayerNormalization', 'BiasGelu', 'FastGelu', 'SkipSimplifiedLayerNormalization', 'SimplifiedLayerNormalization', 'RotaryEmbedding', 'GemmFastGelu', 'QuickGelu']);

function hintFor(opType: string, domain = ''): string {
  if (['If', 'Loop', 'Scan'].includes(opType) && (domain === '' || domain === 'ai.onnx')) {
    return `${opType} is inlined when its path is known at compile time (an If's condition constant or computed from static shapes, a Loop's trip count constant, a Scan's length static) and an If on a run-time value when both branches give outputs of the same rank; the 'control-flow' lines of \`xsys inspect\` show what was resolved. Explaining with the inputs at hand (\`xsys explain\`) compiles for their shapes and small integer values, which decides such Ifs`;
  }
  if (['LSTM', 'GRU', 'RNN'].includes(opType) && (domain === '' || domain === 'ai.onnx')) {
    return `${opType} is unrolled into differentiable ops when its sequence length is known at compile time and its weights W, R (and B, P) are constants; the 'recurrent' line of \`xsys inspect\` says what is missing here (for a dynamic time axis, give the input a fixed length)`;
  }
  if (domain === 'com.microsoft' && FUSED.has(opType)) {
    return `${opType} is a fused op of ONNX Runtime's transformer optimiser; explain the unfused export instead (e.g. optimum-cli export onnx without --optimize, or the model before onnxruntime.transformers.optimizer ran)`;
  }
  return `no gradient is defined for ${opType}. In an LRP composite, a user entry such as {"match": {"opType": "${opType}"}, "rule": "pass"} treats it as an identity for relevance; or remove it with a canonicaliser (e.g. fold it into a neighbouring layer) before explaining`;
}

/** The VJP of a standard-domain op, or undefined when xsys cannot propagate through the node (own keys only). */
export function nodeVjp(n: NodeProto): Vjp | undefined {
  if (n.domain !== '' && n.domain !== 'ai.onnx') return undefined;
  return Object.hasOwn(VJPS, n.opType) ? VJPS[n.opType] : undefined;
}

/** The error compile raises for a node on the explained path without a VJP (inspect lists the same message). */
export function cannotPropagate(n: NodeProto): UnsupportedNodeError {
  return new UnsupportedNodeError(n.name, n.opType, `on the explained path, but xsys cannot propagate through this op${n.domain && n.domain !== 'ai.onnx' ? ` (domain ${n.domain})` : ''}`, hintFor(n.opType, n.domain));
}

/**
 * Appends the backward pass: walks the units in reverse topological order, applies the unit's rule where the
 * composite assigned one and the plain gradient (per-op VJP) elsewhere, and returns the cotangent (relevance or
 * gradient) arriving at each requested tensor.
 */
export function emitBackward(
  g: Graph,
  info: Map<string, ValueInfo>,
  em: Emitter,
  plan: BackwardPlan,
  seeds: ReadonlyArray<readonly [string, string]>,
  wanted: readonly string[],
): Map<string, string | undefined> {
  const ctx: VjpContext = { g, em, info, maxPoolRouting: plan.maxPoolRouting };
  const cot = new Cotangents(em);
  const bank = new WeightBank(em);
  const nonneg = new NonNegativity(g);
  for (const [t, s] of seeds) cot.add(t, s);
  const captured = new Map<string, string | undefined>();
  const wantedSet = new Set(wanted);

  const capture = (t: string) => {
    if (wantedSet.has(t) && !captured.has(t)) captured.set(t, cot.take(t));
  };

  /** Backprop through a unit's own nodes only (its plain gradient), starting from s at its output. */
  const vjpThrough = (unit: Unit, s: string, inputs: string[], hold: readonly string[] = []): (string | undefined)[] => {
    const local = new Cotangents(em);
    local.add(unit.output, s);
    const inside = new Set(unit.nodes.flatMap((n) => n.output));
    for (let k = unit.nodes.length - 1; k >= 0; k--) {
      const n = unit.nodes[k]!;
      const gOut = n.output.map((o) => (o ? local.take(o) : undefined));
      if (gOut.every((x) => !x)) continue;
      const needs = n.input.map((i) => !!i && (inside.has(i) || inputs.includes(i)) && plan.active.has(i) && !hold.includes(i));
      const res = vjpOf(n)(ctx, n, gOut, needs);
      n.input.forEach((i, j) => needs[j] && local.add(i, res[j]));
    }
    return inputs.map((i) => local.take(i));
  };

  const vjpOf = (n: NodeProto) => {
    const f = nodeVjp(n);
    if (!f) throw cannotPropagate(n);
    return f;
  };

  for (let u = plan.units.length - 1; u >= 0; u--) {
    const unit = plan.units[u]!;
    const outs = unitOutputs(unit);
    if (!outs.some((o) => plan.needed.has(o))) continue;
    outs.forEach(capture);
    const assignment = plan.rules.get(unit);
    if (assignment && unit.nodes.length >= 1) {
      const R = cot.take(unit.output);
      if (!R) continue;
      plan.applied?.set(unit, assignment);
      const inputs = unit.linear
        ? [unit.linear.x]
        : unitInputs(g, unit).filter((i) => plan.active.has(i));
      const form = plan.form ?? 'relevance';
      const res = inForm(em, assignment.rule, form, unit.output, R, inputs, (Rn) =>
        assignment.rule.propagate({
          em,
          unit,
          inputs,
          z: unit.output,
          R: Rn,
          vjp: (s, o) => vjpThrough(unit, s, inputs, o?.holdConstant),
          isActive: (t) => plan.active.has(t),
          form,
          nonNegative: (t) => nonneg.check(t),
          linear: unit.linear ? linearOps(ctx, bank, unit.linear) : undefined,
          params: assignment.params,
        }),
      );
      inputs.forEach((i, k) => plan.needed.has(i) && cot.add(i, res[k]));
      continue;
    }
    for (let k = unit.nodes.length - 1; k >= 0; k--) {
      const n = unit.nodes[k]!;
      const gOut = n.output.map((o) => (o && plan.needed.has(o) ? cot.take(o) : undefined));
      n.output.forEach((o) => o && capture(o));
      if (gOut.every((x) => !x)) continue;
      // Control flow left in the graph reads the needed tensors through its subgraphs: it cannot be skipped.
      if (n.attribute.some((a) => a.g || a.graphs.length) && subgraphCaptures(n).some((i) => plan.needed.has(i))) throw cannotPropagate(n);
      const needs = n.input.map((i) => !!i && plan.needed.has(i));
      if (!needs.some(Boolean)) continue;
      const res = vjpOf(n)(ctx, n, gOut, needs);
      n.input.forEach((i, j) => needs[j] && cot.add(i, res[j]));
    }
  }
  for (const t of wanted) if (!captured.has(t)) captured.set(t, cot.take(t));
  return captured;
}

/** The non-constant tensors entering a unit from outside it. */
export function unitInputs(g: Graph, unit: Unit): string[] {
  const inside = new Set(unit.nodes.flatMap((n) => n.output));
  const out: string[] = [];
  for (const n of unit.nodes) for (const i of n.input) if (i && !inside.has(i) && !g.isConstant(i) && !out.includes(i)) out.push(i);
  return out;
}
