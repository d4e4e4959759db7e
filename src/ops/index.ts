import { activationOps } from './activations.js';
import { attentionOps } from './attention.js';
import { elementwiseOps } from './elementwise.js';
import { linearOps } from './linear.js';
import { normalizationOps } from './normalization.js';
import { poolingOps } from './pooling.js';
import { recurrentOps } from './recurrent.js';
import { resizeOps } from './resize.js';
import { sourceOps } from './sources.js';
import { structuralOps } from './structural.js';
import type { Vjp } from './context.js';
import type { OpSpec } from './op.js';

/*
 * The op registry: every ONNX op xsys knows, by op type, with everything known about it (shape rule, VJP,
 * classification, sign, unit grouping, patterns). One line per op family; a family is one module of ./.
 */
const FAMILIES: readonly Readonly<Record<string, OpSpec>>[] = [
  elementwiseOps,
  activationOps,
  linearOps,
  poolingOps,
  structuralOps,
  normalizationOps,
  attentionOps,
  resizeOps,
  recurrentOps,
  sourceOps,
];

/** Merges op families into one registry; an op declared by two families is an error (naming the op). */
export function mergeOpFamilies(families: readonly Readonly<Record<string, OpSpec>>[]): ReadonlyMap<string, OpSpec> {
  const ops = new Map<string, OpSpec>();
  for (const family of families) {
    for (const [type, spec] of Object.entries(family)) {
      // Two families claiming one op would make the answer depend on the order of the list above.
      if (ops.has(type)) throw new Error(`op registry: ${type} is declared by two op families`);
      ops.set(type, spec);
    }
  }
  return ops;
}

export const OPS: ReadonlyMap<string, OpSpec> = mergeOpFamilies(FAMILIES);

/** What the registry knows about an op type; undefined for ops xsys does not know. */
export function opSpec(opType: string): OpSpec | undefined {
  return OPS.get(opType);
}

/** Every op the gradient pass can differentiate, by ONNX op type. */
export const VJPS: Readonly<Record<string, Vjp>> = Object.fromEntries([...OPS].flatMap(([t, s]) => (s.vjp ? [[t, s.vjp]] : [])));

/** Ops whose outputs carry no gradient (integer results, comparisons, constants). */
export const NON_DIFFERENTIABLE: ReadonlySet<string> = new Set([...OPS].filter(([, s]) => s.differentiable === false).map(([t]) => t));

export type { Vjp, VjpContext } from './context.js';
export type { OpClass, OpSpec } from './op.js';
