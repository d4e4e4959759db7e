import type { NodeProto } from 'onnx-buf';
import { attrInt, getAttr } from '../onnx/attributes.js';
import { constNumbers } from '../onnx/tensor.js';
import { defaultOpset } from '../onnx/model.js';
import type { Emitter } from '../ir/emitter.js';
import { shapeOf, unsupported, type Vjp } from './context.js';
import { sameAsInput, type OpSpec } from './op.js';

/**
 * LayerNormalization (opset 17): y = (x − μ)·σ⁻¹·γ + β over the axes from `axis` on. The backward needs μ and σ⁻¹,
 * which the op can return itself: its optional outputs are added to the forward node when the export left them out.
 */
function statistics(em: Emitter, node: NodeProto): { mean: string; invStd: string } {
  while (node.output.length < 3) node.output.push('');
  if (!node.output[1]) node.output[1] = em.g.fresh(`${node.output[0]}_mean`);
  if (!node.output[2]) node.output[2] = em.g.fresh(`${node.output[0]}_invstd`);
  em.g.reindex();
  return { mean: node.output[1]!, invStd: node.output[2]! };
}

/**
 * Runs `body` on x viewed so that the normalised axes are reducible with `axes`: negative axes reduce in place;
 * a non-negative axis is flattened to 2-D first (rank is not needed either way) and the result reshaped back.
 */
function overNormAxes(em: Emitter, node: NodeProto, tensors: string[], like: string, body: (ts: string[], axes: number[]) => string): string {
  const axis = attrInt(node, 'axis', -1);
  if (axis < 0) return body(tensors, Array.from({ length: -axis }, (_, i) => axis + i));
  const flat = tensors.map((t) => em.op('Flatten', [t], { axis: { int: axis } }));
  return em.op('Reshape', [body(flat, [1]), em.shapeOf(like)]);
}

/** ReduceMean took its axes as an attribute until opset 18, as an input since. */
function mean(em: Emitter, t: string, axes: number[]): string {
  if (defaultOpset(em.g.model) >= 18) return em.op('ReduceMean', [t, em.ints(axes)], { keepdims: { int: 1 } });
  return em.op('ReduceMean', [t], { axes: { ints: axes }, keepdims: { int: 1 } });
}

/** γ ⊙ g, the cotangent of the normalised x̂. */
function scaled(em: Emitter, node: NodeProto, g: string): string {
  return node.input[1] ? em.mul(g, node.input[1]) : g;
}

/** AttnLRP's identity rule on LayerNorm: σ held constant, the gradient flows through x − μ: σ⁻¹·(ĝ − mean(ĝ)). */
export function layerNormHeldVjp(em: Emitter, node: NodeProto, g: string, _y: string): string {
  const { invStd } = statistics(em, node);
  const gh = scaled(em, node, g);
  const x = node.input[0]!;
  const centred = overNormAxes(em, node, [gh], x, ([a], axes) => em.sub(a!, mean(em, a!, axes)));
  return em.mul(centred, invStd);
}

/** The exact gradient: σ⁻¹·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), x̂ = (x − μ)·σ⁻¹. */
const layerNorm: Vjp = (ctx, node, [g], needs) => {
  const { em } = ctx;
  if (!g) return node.input.map(() => undefined);
  if (needs[1] || needs[2]) unsupported(node, 'scale or bias depend on the input', 'only LayerNormalization with constant scale and bias is differentiated');
  const { mean: mu, invStd } = statistics(em, node);
  const x = node.input[0]!;
  const xhat = em.mul(em.sub(x, mu), invStd);
  const gh = scaled(em, node, g);
  const inner = overNormAxes(em, node, [gh, xhat], x, ([a, xh], axes) => em.sub(em.sub(a!, mean(em, a!, axes)), em.mul(xh!, mean(em, em.mul(a!, xh!), axes))));
  return [em.mul(inner, invStd), undefined, undefined];
};

/** BatchNormalization in inference mode is a per-channel affine map: the cotangent is scaled by γ/√(σ²+ε). */
const batchNorm: Vjp = (ctx, node, [g]) => {
  const { em, g: graph } = ctx;
  if (!g) return node.input.map(() => undefined);
  const scale = graph.constant(node.input[1]!);
  const variance = graph.constant(node.input[4]!);
  if (!scale || !variance) unsupported(node, 'BatchNormalization with non-constant statistics', 'export the model in eval mode');
  const eps = getAttr(node, 'epsilon')?.f ?? 1e-5;
  const s = constNumbers(scale);
  const v = constNumbers(variance);
  const rank = shapeOf(ctx, node.input[0]!)?.length ?? 4;
  const factor = Float32Array.from(s, (sc, i) => sc / Math.sqrt(v[i]! + eps));
  const f = em.floats('bn_factor', factor, [factor.length, ...new Array<number>(Math.max(0, rank - 2)).fill(1)]);
  return [em.mul(g, f), undefined, undefined, undefined, undefined];
};

// --- the normalisation family in the op registry -------------------------------------------------------------------

export const normalizationOps: Record<string, OpSpec> = {
  BatchNormalization: { kind: 'normalization', vjp: batchNorm, shape: sameAsInput, unit: () => ({ kind: 'batchnorm' }) },
  LayerNormalization: { kind: 'normalization', vjp: layerNorm, shape: sameAsInput, unit: () => ({ kind: 'norm' }) },
  InstanceNormalization: { kind: 'normalization', shape: sameAsInput },
  LRN: { kind: 'normalization', shape: sameAsInput },
};
