import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import type { ValueInfo } from '../ir/shapes.js';

/** What a canonicaliser changed, for `xsys inspect` and for tests. */
export interface CanonReport {
  canonicalizer: string;
  node: string;
  detail: string;
}

/**
 * A canonicaliser rewrites (or annotates) the graph without changing the function it computes. It only sees the
 * graph and static shapes; it knows nothing about rules or composites.
 */
export interface Canonicalizer {
  name: string;
  apply(g: Graph, info: Map<string, ValueInfo>): CanonReport[];
}

/** An element-wise activation built from several nodes (SiLU, HardSwish, GELU …), treated as one activation. */
export interface ActivationRegion {
  name: string;
  input: string;
  output: string;
  nodes: NodeProto[];
}

/**
 * A normalisation written out as primitive ops (LayerNorm/RMSNorm of older exports): the variance branch and the
 * division by its square root. `statistic` is the denominator (or reciprocal factor) the identity rule holds constant.
 */
export interface NormRegion {
  name: 'LayerNorm' | 'RMSNorm';
  /** The normalised tensor (x − mean for LayerNorm, x for RMSNorm). */
  input: string;
  output: string;
  statistic: string;
  nodes: NodeProto[];
}
