import type { NodeProto } from 'onnx-buf';
import type { ConstTensor } from '../onnx/tensor.js';

/*
 * The unit: what a rule is applied to. The compiler groups graph nodes into units (compiler/units.ts); rules and
 * composites only see this type, which is why it lives below all three.
 */

/** The layer kinds composites map to rules (Zennit's layer types, in ONNX terms). */
export type UnitKind = 'conv' | 'dense' | 'activation' | 'sum' | 'avgpool' | 'reduce' | 'resize' | 'batchnorm' | 'norm' | 'product' | 'scores' | 'gate' | 'pooled-gate' | 'other';
/**
 * reduce: ReduceSum/ReduceMean of one non-constant tensor (a sum or average over axes, like pooling); resize: Resize
 * (nearest, linear, cubic interpolation: a linear map of x);
 * norm: LayerNorm/RMSNorm (op or recognised pattern); product: MatMul/Mul/Einsum of two non-constant tensors
 * (attn·v, gate·up); scores: such a product whose result feeds a Softmax (q·kᵀ); gate: a gate ⊙ signal product of an
 * unrolled LSTM/GRU cell (canonicalize/recurrent.ts marks them); pooled-gate: a product x ⊙ gate whose gate is
 * computed from a pooled copy of x (squeeze-excitation, CBAM).
 */
export const UNIT_KINDS: readonly UnitKind[] = ['conv', 'dense', 'activation', 'sum', 'avgpool', 'reduce', 'resize', 'batchnorm', 'norm', 'product', 'scores', 'gate', 'pooled-gate', 'other'];

/** A linear layer f(x; W, b) with constant parameters — what the LRP weight rules need to see. */
export interface LinearInfo {
  x: string;
  weight: ConstTensor;
  weightName: string;
  bias?: ConstTensor;
  biasName?: string;
  /** The node computing x·W (Conv, ConvTranspose, Gemm or MatMul). */
  node: NodeProto;
}

/**
 * What a rule is applied to: usually one node; a linear layer with a separate bias Add, or an activation spread over
 * several nodes, form one unit.
 */
export interface Unit {
  kind: UnitKind;
  /** Node name (or the names joined by '+' for multi-node units). */
  name: string;
  /** ONNX op type, or the activation's name (SiLU, GELU …) for regions. */
  opType: string;
  nodes: NodeProto[];
  /** The node whose output is the unit's output. */
  last: NodeProto;
  output: string;
  linear?: LinearInfo;
  /** Tensors inside the unit a rule may hold constant (a normalisation's statistic). */
  statistics?: string[];
  /** pooled-gate units: the operand that is the gate. */
  gate?: string;
}
