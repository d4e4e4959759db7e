import { attrInt } from '../onnx/attributes.js';
import { asFloat32 } from '../onnx/tensor.js';
import type { Emitter } from './emitter.js';
import type { LinearInfo } from './units.js';
import { convOfTranspose, convTransposeOf, kernelOf } from './vjp/linear.js';
import type { VjpContext } from './vjp/context.js';

/** A weight tensor variant (W⁺, W⁻, W², ones …) materialised as an initializer at compile time. */
export interface WeightRef {
  name: string;
  data: Float32Array;
  dims: number[];
}

/**
 * The two primitives every LRP weight rule is written in: f(x; W', b') — the layer with modified parameters — and
 * fᵀ(s; W') — its transpose (the gradient with respect to the input).
 */
export interface LinearOps {
  readonly x: string;
  weight(tag: string, fn: (w: number) => number): WeightRef;
  /** The bias transformed by fn, or undefined when the layer has no bias. */
  bias(tag: string, fn: (b: number) => number): string | undefined;
  f(x: string, w: WeightRef, b?: string): string;
  fT(s: string, w: WeightRef): string;
}

/** Variants are shared between layers' rules within one compilation (the same W⁺ is emitted once). */
export class WeightBank {
  private cache = new Map<string, WeightRef>();
  private transposed = new Map<string, string>();
  constructor(private readonly em: Emitter) {}

  variant(source: string, data: Float32Array, dims: number[], tag: string, fn: (w: number) => number): WeightRef {
    const key = `${source}|${tag}`;
    let ref = this.cache.get(key);
    if (!ref) {
      const out = tag === 'id' ? data : data.map(fn);
      const em = this.em;
      let name: string | undefined = tag === 'id' ? source : undefined;
      // Materialised on first use only: a rule may ask for W⁻ and then find it needs only W⁺ (non-negative input).
      ref = {
        get name() {
          name ??= em.floats(`${source}_${tag}`, out, dims);
          return name;
        },
        data: out,
        dims,
      };
      this.cache.set(key, ref);
    }
    return ref;
  }

  /** Wᵀ of a 2-D variant, for MatMul layers. */
  transpose2d(w: WeightRef): string {
    let name = this.transposed.get(w.name);
    if (!name) {
      const [r, c] = w.dims as [number, number];
      const out = new Float32Array(r * c);
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = w.data[i * c + j]!;
      name = this.em.floats(`${w.name}_T`, out, [c, r]);
      this.transposed.set(w.name, name);
    }
    return name;
  }
}

export function linearOps(ctx: VjpContext, bank: WeightBank, layer: LinearInfo): LinearOps {
  const { em } = ctx;
  const node = layer.node;
  const w0 = asFloat32(layer.weight);
  const b0 = layer.bias ? asFloat32(layer.bias) : undefined;
  const op = node.opType;
  const keepAttrs = node.attribute;
  return {
    x: layer.x,
    weight: (tag, fn) => bank.variant(layer.weightName, w0, layer.weight.dims, tag, fn),
    bias: (tag, fn) => (b0 && layer.biasName ? bank.variant(layer.biasName, b0, layer.bias!.dims, tag, fn).name : undefined),
    f(x, w, b) {
      if (op === 'MatMul') {
        const y = em.op('MatMul', [x, w.name], {}, 'f');
        return b ? em.add(y, b) : y;
      }
      const inputs = b ? [x, w.name, b] : [x, w.name];
      const out = em.op(op, inputs, {}, 'f');
      // Same geometry as the forward node: copy its attributes verbatim.
      em.created[em.created.length - 1]!.attribute = keepAttrs.map((a) => ({ ...a }));
      return out;
    },
    fT(s, w) {
      if (op === 'Conv') return convTransposeOf(ctx, node, s, w.name, kernelOf(ctx, node), layer.x);
      if (op === 'ConvTranspose') return convOfTranspose(ctx, node, s, w.name, kernelOf(ctx, node));
      if (op === 'Gemm') return em.op('Gemm', [s, w.name], { transB: { int: 1 - attrInt(node, 'transB', 0) } }, 'fT');
      return em.op('MatMul', [s, bank.transpose2d(w)], {}, 'fT');
    },
  };
}
