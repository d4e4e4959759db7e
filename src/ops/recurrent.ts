import type { NodeProto } from 'onnx-buf';
import { attrInt, attrString } from '../onnx/attributes.js';
import type { Dim } from '../ir/shapes.js';
import type { OpSpec, ShapeRule } from './op.js';

/*
 * Recurrent layers (LSTM, GRU, RNN). They have no VJP of their own: the `recurrent` canonicaliser unrolls them over
 * their (compile-time) sequence length into MatMul/Add/activation/Mul nodes, whose gradients the registry has. What
 * this family knows is their shapes (so `inspect` and the nodes after them see them) and how a product in the
 * unrolled graph is marked as a gate.
 */

/** Gate products the unrolling emits carry this doc string plus the index of the gate operand ("xsys:gate 0"). */
const GATE_MARK = 'xsys:gate ';

/** Marks a Mul of the unrolled cell as gate ⊙ signal, its gate being operand k (Arras et al.: gates pass no relevance). */
export function markGate(n: NodeProto, k: 0 | 1): NodeProto {
  n.docString = `${GATE_MARK}${k}`;
  return n;
}

/** The gate operand of a marked gate product, or undefined for any other node. */
export function gateOperand(n: NodeProto): 0 | 1 | undefined {
  if (n.opType !== 'Mul' || !n.docString.startsWith(GATE_MARK)) return undefined;
  const k = Number(n.docString.slice(GATE_MARK.length));
  return k === 0 || k === 1 ? k : undefined;
}

/** Number of directions of a recurrent node (1, or 2 when bidirectional). */
export function directions(n: NodeProto): number {
  return attrString(n, 'direction', 'forward') === 'bidirectional' ? 2 : 1;
}

/** Y [T, D, B, H] (layout 0) or [B, T, D, H] (layout 1); Y_h and Y_c [D, B, H] or [B, D, H]. */
const recurrentShape: ShapeRule = ({ inp }, n) => {
  const x = inp(0);
  const et = x.elemType;
  const d = directions(n);
  const hidden = attrInt(n, 'hidden_size', 0) || null;
  const s = x.shape;
  const layout = attrInt(n, 'layout', 0);
  const seq: Dim = s ? s[layout === 0 ? 0 : 1]! : null;
  const batch: Dim = s ? s[layout === 0 ? 1 : 0]! : null;
  const y: Dim[] = layout === 0 ? [seq, d, batch, hidden] : [batch, seq, d, hidden];
  const state: Dim[] = layout === 0 ? [d, batch, hidden] : [batch, d, hidden];
  return n.output.map((_, k) => ({ elemType: et, shape: s ? (k === 0 ? y : state) : undefined }));
};

const recurrent: OpSpec = { kind: 'linear', shape: recurrentShape };

export const recurrentOps: Record<string, OpSpec> = {
  LSTM: recurrent,
  GRU: recurrent,
  RNN: recurrent,
};
