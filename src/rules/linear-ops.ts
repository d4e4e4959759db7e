import { attrInt } from '../onnx/attributes.js';
import { asFloat32 } from '../onnx/tensor.js';
import type { Emitter } from '../ir/emitter.js';
import type { LinearInfo } from '../ir/unit.js';
import { convOfTranspose, convTransposeOf, kernelOf, matmulByConstT } from '../ops/linear.js';
import type { VjpContext } from '../ops/context.js';

/** A weight tensor variant (W⁺, W⁻, W², ones …) of a linear layer's constant weight. */
export interface WeightRef {
  /** The tensor holding the variant in the compiled graph (emitted on first use). */
  readonly name: string;
  /** The values, computed in JS on first use (only variants without a graph form need them). */
  readonly data: Float32Array;
  readonly dims: number[];
}

/** w ↦ max(w, 0). Rules pass this very function for W⁺, which lets the compiler emit it as a graph op. */
export const positivePart = (w: number): number => (w > 0 ? w : 0);
/** w ↦ min(w, 0), likewise for W⁻. */
export const negativePart = (w: number): number => (w < 0 ? w : 0);

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

/**
 * Variants are shared between layers' rules within one compilation (the same W⁺ is emitted once). W⁺ and W⁻ are
 * emitted as Relu / Min on the constant weight, which ONNX Runtime folds into initializers when it creates the
 * session: the compiled model stays the size of the original, and compiling does not loop over every weight in JS.
 * Other variants (γ-rule, W², ones) are computed in JS — exactly as the graph ops would, element by element.
 */
export class WeightBank {
  private cache = new Map<string, WeightRef>();
  constructor(private readonly em: Emitter) {}

  variant(source: string, sourceData: () => Float32Array, dims: number[], tag: string, fn: (w: number) => number): WeightRef {
    const key = `${source}|${tag}`;
    let ref = this.cache.get(key);
    if (!ref) {
      const em = this.em;
      let name: string | undefined = tag === 'id' ? source : undefined;
      let data: Float32Array | undefined;
      const values = (): Float32Array => {
        if (!data) {
          const src = sourceData();
          if (tag === 'id') data = src;
          else {
            // A plain loop: TypedArray#map is several times slower on multi-million-element weights.
            data = new Float32Array(src.length);
            for (let i = 0; i < src.length; i++) data[i] = fn(src[i]!);
          }
        }
        return data;
      };
      const graphOp = fn === positivePart ? 'Relu' : fn === negativePart ? 'Min' : undefined;
      // Materialised on first use only: a rule may ask for W⁻ and then find it needs only W⁺ (non-negative input).
      ref = {
        get name() {
          if (name === undefined) {
            if (graphOp === 'Relu') name = em.pos(source);
            else if (graphOp === 'Min') name = em.neg(source);
            else name = em.floats(`${source}_${tag}`, values(), dims);
            em.setConstDims(name, dims);
          }
          return name;
        },
        get data() {
          return values();
        },
        dims,
      };
      this.cache.set(key, ref);
    }
    return ref;
  }
}

export function linearOps(ctx: VjpContext, bank: WeightBank, layer: LinearInfo): LinearOps {
  const { em } = ctx;
  const node = layer.node;
  const w0 = (): Float32Array => asFloat32(layer.weight);
  const bias = layer.bias;
  const b0 = bias ? (): Float32Array => asFloat32(bias) : undefined;
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
      return matmulByConstT(ctx, s, w.name, w.dims[1]!, layer.x);
    },
  };
}
