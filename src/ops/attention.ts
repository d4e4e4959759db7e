import { attrInt, attrString } from '../onnx/attributes.js';
import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import { unbroadcast, unsupported, type Vjp } from './context.js';
import { dynamicInputs, sameAsInput, type OpSpec, type UnitRule } from './op.js';
import { gateOperand } from './recurrent.js';

/** Trilu keeps a triangle: its transpose keeps the same triangle of the cotangent. */
const trilu: Vjp = (ctx, node, [g]) => {
  if (!g) return node.input.map(() => undefined);
  const inputs = node.input[1] ? [g, node.input[1]] : [g];
  return [ctx.em.op('Trilu', inputs, { upper: { int: attrInt(node, 'upper', 1) } }), undefined];
};

/** Splits 'ab,bc->ac' into operand terms and the output term (implicit output: indices used once, sorted). */
export function parseEinsum(equation: string): { terms: string[]; out: string } {
  const eq = equation.replace(/\s/g, '');
  const [lhs, rhs] = eq.split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  if (rhs !== undefined) return { terms, out: rhs };
  const counts = new Map<string, number>();
  for (const t of terms) for (const c of t.replace('...', '')) counts.set(c, (counts.get(c) ?? 0) + 1);
  const once = [...counts].filter(([, n]) => n === 1).map(([c]) => c).sort().join('');
  return { terms, out: terms.some((t) => t.includes('...')) ? `...${once}` : once };
}

/**
 * Einsum of two operands: the cotangent of one operand is the Einsum of the output cotangent with the other operand,
 * e.g. for 'bhqd,bhkd->bhqk' dQ = 'bhqk,bhkd->bhqd'. Valid when every index of the operand appears in the output or in
 * the other operand and no index repeats within a term (no diagonals).
 */
const einsum: Vjp = (ctx, node, [g], needs) => {
  if (!g) return node.input.map(() => undefined);
  const eq = attrString(node, 'equation', '');
  const { terms, out } = parseEinsum(eq);
  if (terms.length === 1) {
    const [a] = terms as [string];
    if (new Set(a.replace('...', '')).size !== a.replace('...', '').length || [...a.replace('...', '')].some((c) => !out.includes(c))) {
      unsupported(node, `Einsum '${eq}' reduces or takes a diagonal`, 'only permutations are differentiated for one operand');
    }
    return [ctx.em.op('Einsum', [g], { equation: { string: `${out}->${a}` } })];
  }
  if (terms.length !== 2) unsupported(node, `Einsum '${eq}' with ${terms.length} operands is not differentiated`, 'split it into two-operand Einsums or MatMuls');
  const [a, b] = terms as [string, string];
  const check = (t: string, other: string) => {
    const idx = t.replace('...', '');
    if (new Set(idx).size !== idx.length) unsupported(node, `Einsum '${eq}' takes a diagonal`, 'rewrite the product without repeated indices');
    for (const c of idx) if (!out.includes(c) && !other.includes(c)) unsupported(node, `Einsum '${eq}': index '${c}' is summed within one operand`, 'sum that operand first (ReduceSum) and use Einsum on the result');
  };
  check(a, b);
  check(b, a);
  const y = node.output[0]!;
  return [
    needs[0] ? unbroadcast(ctx, ctx.em.op('Einsum', [g, node.input[1]!], { equation: { string: `${out},${b}->${a}` } }, 'einsum_dA'), node.input[0]!, y) : undefined,
    needs[1] ? unbroadcast(ctx, ctx.em.op('Einsum', [node.input[0]!, g], { equation: { string: `${a},${out}->${b}` } }, 'einsum_dB'), node.input[1]!, y) : undefined,
  ];
};


// --- attention: the q·kᵀ pattern and the ops of attention blocks in the op registry --------------------------------

/** Ops a q·kᵀ product passes through on its way to the Softmax: scaling, masks, reshapes, casts. */
const TO_SOFTMAX = new Set(['Div', 'Mul', 'Add', 'Sub', 'Where', 'Reshape', 'Transpose', 'Cast', 'Unsqueeze', 'Squeeze', 'Slice', 'Max', 'Min', 'Clip', 'Tanh', 'Identity']);

function feedsSoftmax(g: Graph, t: string, depth = 0): boolean {
  if (depth > 8) return false;
  return g.consumers(t).some((c) => c.opType === 'Softmax' || (TO_SOFTMAX.has(c.opType) && feedsSoftmax(g, c.output[0]!, depth + 1)));
}

/** Pooling ops that squeeze a signal into the statistic a gate is computed from (over space or over channels). */
const POOLS = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'ReduceMean', 'ReduceMax', 'ReduceSum', 'AveragePool', 'MaxPool', 'ReduceL2']);

/**
 * Whether `gate` is computed from the signal `x` only through a pooling of x: every path from gate back to an active
 * tensor ends in a pool whose input is x, and at least one does (squeeze-excitation: x → GlobalAveragePool → Conv →
 * ReLU → Conv → Sigmoid; CBAM's spatial gate: x → ReduceMean/ReduceMax over channels → Conv → Sigmoid).
 */
function pooledFrom(g: Graph, gate: string, x: string): boolean {
  let pooled = false;
  const seen = new Set<string>();
  const visit = (t: string, depth: number): boolean => {
    if (seen.has(t) || g.isConstant(t)) return true;
    seen.add(t);
    if (t === x || depth > 24) return false;
    const p = g.producer(t);
    if (!p) return false; // a graph input other than through the pool: not a gate of x
    if (POOLS.has(p.opType) && p.input[0] === x) return (pooled = true);
    return p.input.every((i) => !i || visit(i, depth + 1));
  };
  return visit(gate, 0) && pooled;
}

/**
 * A Mul x ⊙ gate whose gate is computed from a pooled copy of x (squeeze-excitation, CBAM): the operand index of the
 * gate, or undefined for any other product.
 */
export function pooledGateOperand(g: Graph, n: NodeProto): 0 | 1 | undefined {
  if (n.opType !== 'Mul' || n.input.length !== 2 || n.input[0] === n.input[1]) return undefined;
  const [a, b] = n.input as [string, string];
  if (g.isConstant(a) || g.isConstant(b)) return undefined;
  if (pooledFrom(g, b, a)) return 1;
  if (pooledFrom(g, a, b)) return 0;
  return undefined;
}

/**
 * The recognised pattern of attention: a product of two non-constant tensors is a 'product' unit (attn·v, gate·up),
 * a 'scores' unit when it feeds a Softmax (q·kᵀ), a 'pooled-gate' unit when one operand is a gate computed from a
 * pooled copy of the other (squeeze-excitation); a product with a constant is an 'other' unit.
 */
export function productKind(g: Graph, n: NodeProto): 'product' | 'scores' | 'gate' | 'pooled-gate' | 'other' {
  // A gate ⊙ signal of an unrolled recurrent cell, even when the signal is a constant (a GRU's reset gate ⊙ Rb_h).
  if (gateOperand(n) !== undefined) return 'gate';
  if (dynamicInputs(g, n).length < 2) return 'other';
  if (pooledGateOperand(g, n) !== undefined) return 'pooled-gate';
  return feedsSoftmax(g, n.output[0]!) ? 'scores' : 'product';
}

export const productUnit: UnitRule = (g, n) => {
  const kind = productKind(g, n);
  return kind === 'pooled-gate' ? { kind, gate: n.input[pooledGateOperand(g, n)!]! } : { kind };
};

export const attentionOps: Record<string, OpSpec> = {
  // The causal mask of decoder self-attention.
  Trilu: { kind: 'shape-only', vjp: trilu, shape: sameAsInput },
  Einsum: { kind: 'linear', vjp: einsum, unit: productUnit },
};
