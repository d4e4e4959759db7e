import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import type { Dim, ValueInfo } from '../ir/shapes.js';
import type { LinearInfo, UnitKind } from '../ir/unit.js';
import type { Vjp } from './context.js';

/*
 * One op's knowledge in one place. Each op family (ops/activations.ts, ops/linear.ts …) exports a table of OpSpecs;
 * ops/index.ts merges the tables into the registry that shape inference (ops/shapes.ts), unit building
 * (compiler/units.ts), the activity and sign analyses (compiler/analysis.ts), the activation patterns
 * (canonicalize/activations.ts) and the gradient pass (compiler/backward.ts) read.
 */

/**
 * What an op is, as the LRP rules see it: a linear map with parameters, an element-wise activation, a pooling, a sum
 * of branches, a reduction over axes, a normalisation, a plain element-wise function, a reshuffle of elements
 * (shape-only), or a source of values that carry no gradient (constants, shapes, comparisons, random numbers).
 */
export type OpClass = 'linear' | 'activation' | 'pooling' | 'sum' | 'reduction' | 'normalization' | 'elementwise' | 'shape-only' | 'source';

/** What a shape rule sees of the node's inputs. */
export interface ShapeContext {
  g: Graph;
  /** Type and shape of input k ({ elemType: 0 } when unknown or absent). */
  inp(k: number): ValueInfo;
  /** Input k as numbers, when it is a constant. */
  cnum(k: number): number[] | undefined;
  /** A shape-describing input: a constant, or a value propagated from shape arithmetic (may hold symbols). */
  dims(k: number): Dim[] | undefined;
}

/** The types and shapes of a node's outputs (an empty list: nothing known). May throw: inference is partial. */
export type ShapeRule = (ctx: ShapeContext, n: NodeProto) => ValueInfo[];

/** What a value rule sees: the inferred infos so far and the values of small shape-describing tensors. */
export interface ValueContext {
  g: Graph;
  info: Map<string, ValueInfo>;
  /** The value of a shape-describing tensor (propagated, or a small constant). */
  val(t: string | undefined): Dim[] | undefined;
}

/**
 * The value of the node's first output when it computes a shape vector (Shape → Gather → Concat …), symbols kept, so
 * that a Reshape to a computed shape still gets a known rank. undefined when not tracked.
 */
export type ValueRule = (ctx: ValueContext, n: NodeProto) => Dim[] | undefined;

export interface SignContext {
  g: Graph;
  /** Whether tensor t provably has no negative element. */
  check(t: string): boolean;
}

/** Whether the node's output provably has no negative element (used to drop the x⁻ half of z⁺/αβ/γ exactly). */
export type NonNegRule = (ctx: SignContext, n: NodeProto) => boolean;

/** How the unit builder groups a node: its unit kind, the parameters of a linear layer, consumers it absorbs. */
export interface UnitMatch {
  kind: UnitKind;
  linear?: LinearInfo;
  /** A consumer folded into this unit (MatMul + bias Add = one dense layer). */
  absorb?: NodeProto;
  /** pooled-gate units: the operand that is the gate. */
  gate?: string;
}
export type UnitRule = (g: Graph, n: NodeProto) => UnitMatch;

export interface OpSpec {
  kind: OpClass;
  /** The vector-Jacobian product; absent: the compiler cannot differentiate through the op. */
  vjp?: Vjp;
  /** false: the outputs carry no gradient at all (integer results, comparisons, constants); not even a VJP is needed. */
  differentiable?: false;
  shape?: ShapeRule;
  value?: ValueRule;
  /** Absent: the output may be negative. */
  nonNegative?: NonNegRule;
  /** Absent: an 'activation' op is an activation unit, anything else an 'other' unit. */
  unit?: UnitRule;
  /**
   * An element-wise node that may be part of an activation written out as several nodes (x·sigmoid(x), GELU's erf
   * form …): canonicalize/activations.ts grows its regions through these ops only.
   */
  inActivationPattern?: true;
}

// --- shared rules --------------------------------------------------------------------------------------------------

/** The output has the input's type and shape (element-wise unary ops, normalisations, activations). */
export const sameAsInput: ShapeRule = (ctx) => {
  const x = ctx.inp(0);
  return [{ elemType: x.elemType, shape: x.shape }];
};

/** Always non-negative (ReLU, sigmoid, softmax, |x| …). */
export const always: NonNegRule = () => true;

/** Non-negative when every input is (sums, products, concatenations, max pooling of non-negative tensors …). */
export const allInputs: NonNegRule = (ctx, n) => n.input.filter(Boolean).every((i) => ctx.check(i));

/**
 * Non-negative when the data input (input 0) is: the other inputs of Reshape, Slice, Expand … are shapes, axes or
 * indices (integers) that do not affect the sign of the data. Constant non-data inputs still count when non-negative.
 */
export const dataInput: NonNegRule = (ctx, n) => n.input.filter(Boolean).every((i) => ctx.check(i) || i !== n.input[0]);

/** Tensors that are not constants. */
export function dynamicInputs(g: Graph, n: NodeProto): string[] {
  return n.input.filter((i) => i && !g.isConstant(i));
}

/** Value rule of ops that keep the values of a shape vector in order (Cast, Reshape, Unsqueeze … of a 1-D value). */
export const passValue: ValueRule = ({ info, val }, n) => {
  const x = val(n.input[0]);
  // Shape vectors only: reshaping a 1-D value (or a scalar) keeps its values in order.
  return x && (info.get(n.output[0]!)?.shape?.length ?? 1) <= 1 ? x : undefined;
};
