import type { NodeProto } from 'onnx-buf';
import { makeNode, type AttrValue } from '../onnx/attributes.js';
import { floatTensor, int64Tensor } from '../onnx/tensor.js';
import type { Graph } from './graph.js';
import type { ValueInfo } from './shapes.js';

/**
 * Appends ordinary ONNX nodes to a graph. Every backward node is created here, so naming, constant sharing and the
 * few numeric conventions (the stabiliser) live in one place.
 */
export class Emitter {
  private scalars = new Map<number, string>();
  private intConsts = new Map<string, string>();
  private shapes = new Map<string, string>();
  private floatData = new Map<string, { data: Float32Array; dims: readonly number[] }>();
  private derivedNames = new Map<string, string>();
  private derivedDims = new Map<string, readonly number[]>();
  private shapeInfo?: ReadonlyMap<string, ValueInfo>;
  private dimSources = new Map<string, { input: string; axis: number }>();
  readonly created: NodeProto[] = [];

  constructor(
    readonly g: Graph,
    readonly prefix = 'xsys',
  ) {}

  /** Emits one node and returns its outputs. `base` names the outputs for readability of the compiled graph. */
  opN(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue | undefined> = {}, nOut = 1, base?: string): string[] {
    const stem = `${this.prefix}/${base ?? opType}`;
    const outputs = Array.from({ length: nOut }, (_, k) => this.g.fresh(nOut === 1 ? `${stem}` : `${stem}_${k}`));
    const node = makeNode(opType, inputs, outputs, this.g.fresh(`${stem}_node`), attrs);
    this.g.addNode(node);
    this.created.push(node);
    return outputs;
  }

  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue | undefined> = {}, base?: string): string {
    return this.opN(opType, inputs, attrs, 1, base)[0]!;
  }

  /** A float32 scalar constant, shared by every use of the same value. */
  scalar(v: number): string {
    const key = Math.fround(v);
    let name = this.scalars.get(key);
    if (!name) {
      name = this.g.addInitializer(floatTensor(this.g.fresh(`${this.prefix}/c_${v}`), Float32Array.of(v), []));
      this.scalars.set(key, name);
    }
    return name;
  }

  ints(values: readonly number[]): string {
    const key = values.join(',');
    let name = this.intConsts.get(key);
    if (!name) {
      name = this.g.addInitializer(int64Tensor(this.g.fresh(`${this.prefix}/i_${key.replace(/[^0-9-]/g, '_')}`), values));
      this.intConsts.set(key, name);
    }
    return name;
  }

  floats(base: string, data: Float32Array, dims: readonly number[]): string {
    // The emitter's arrays are made for the initializer and never written again: no copy.
    const name = this.g.addInitializer(floatTensor(this.g.fresh(`${this.prefix}/${base}`), data, dims, false));
    this.floatData.set(name, { data, dims });
    return name;
  }

  /** The value of a float32 constant: one this emitter created (no decoding) or one of the model's; else undefined. */
  floatConst(name: string): { data: Float32Array; dims: readonly number[] } | undefined {
    const own = this.floatData.get(name);
    if (own) return own;
    const c = this.g.constant(name);
    return c && c.data instanceof Float32Array ? { data: c.data, dims: c.dims } : undefined;
  }

  /**
   * Static dims of a constant tensor: an initializer, a `Constant` node's output (exporters such as Paddle2ONNX
   * write weights that way), or a weight derived from one by ops this emitter emitted (registered with
   * `setConstDims`).
   */
  constDims(name: string): readonly number[] | undefined {
    const own = this.floatData.get(name) ?? this.derivedDims.get(name);
    if (own) return 'dims' in own ? own.dims : own;
    const init = this.g.initializer(name);
    if (init) return init.dims.map(Number);
    return this.g.constant(name)?.dims;
  }

  setConstDims(name: string, dims: readonly number[]): void {
    this.derivedDims.set(name, dims);
  }

  /** An initializer derived from others at compile time (e.g. a flipped kernel), made once per key. */
  derived(key: string, make: () => string): string {
    let name = this.derivedNames.get(key);
    if (name === undefined) {
      name = make();
      this.derivedNames.set(key, name);
    }
    return name;
  }

  /**
   * Shapes known at compile time: shapeOf then needs no `Shape` node on the tensor itself. A `Shape` node keeps its
   * input alive until it runs, and the backward pass runs it late — ViT-B/16 at batch 8 kept every q/k/v projection
   * and GELU output (≈ 150 MiB) only to read their shapes. Symbolic dims are read off the graph input that carries
   * the same dim parameter (graph inputs stay alive for the whole run anyway).
   */
  useShapeInfo(info: ReadonlyMap<string, ValueInfo>, inputs: readonly string[]): void {
    this.shapeInfo = info;
    for (const name of inputs) {
      info.get(name)?.shape?.forEach((d, axis) => {
        if (typeof d === 'string' && !this.dimSources.has(d)) this.dimSources.set(d, { input: name, axis });
      });
    }
  }

  /** The run-time shape of x as an int64 tensor. */
  shapeOf(x: string): string {
    let s = this.shapes.get(x);
    if (!s) {
      s = this.knownShape(x) ?? this.op('Shape', [x], {}, 'shape');
      this.shapes.set(x, s);
    }
    return s;
  }

  private knownShape(x: string): string | undefined {
    const dims = this.shapeInfo?.get(x)?.shape;
    if (!dims || !dims.every((d) => (typeof d === 'number' && d >= 0) || (typeof d === 'string' && this.dimSources.has(d)))) return undefined;
    if (dims.every((d) => typeof d === 'number')) return this.ints(dims as number[]);
    const parts: string[] = [];
    let run: number[] = [];
    for (const d of dims) {
      if (typeof d === 'number') {
        run.push(d);
        continue;
      }
      if (run.length) parts.push(this.ints(run));
      run = [];
      const { input, axis } = this.dimSources.get(d as string)!;
      parts.push(this.derived(`dim|${input}|${axis}`, () => this.op('Shape', [input], { start: { int: axis }, end: { int: axis + 1 } }, 'dim')));
    }
    if (run.length) parts.push(this.ints(run));
    return parts.length === 1 ? parts[0]! : this.op('Concat', parts, { axis: { int: 0 } }, 'shape');
  }

  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }
  div(a: string, b: string): string {
    return this.op('Div', [a, b]);
  }
  /** x⁺ = max(x, 0) */
  pos(x: string): string {
    return this.op('Relu', [x], {}, 'pos');
  }
  /** x⁻ = min(x, 0) */
  neg(x: string): string {
    return this.op('Min', [x, this.scalar(0)], {}, 'neg');
  }

  /** Zennit's stabiliser: z + ε·sign(z) with sign(0) = +1, so a zero denominator becomes ε, never 0. */
  stabilize(z: string, eps: number): string {
    const nonneg = this.op('GreaterOrEqual', [z, this.scalar(0)], {}, 'sign');
    const e = this.op('Where', [nonneg, this.scalar(eps), this.scalar(-eps)], {}, 'eps');
    return this.op('Add', [z, e], {}, 'stab');
  }

  /**
   * The same stabiliser for a z proven ≥ 0 (sign(z) = +1 everywhere): one Add instead of three ops. Exact, and it
   * matters — on large activations each element-wise op costs about as much as a small convolution.
   */
  stabilizeNonNeg(z: string, eps: number): string {
    return this.op('Add', [z, this.scalar(eps)], {}, 'stab');
  }

  /** A tensor shaped like x filled with v (computed at run time, so symbolic shapes are fine). */
  constLike(x: string, v: number): string {
    return this.op('Expand', [this.scalar(v), this.shapeOf(x)], {}, `fill_${v}`);
  }

  /** Sum of several contributions (single one returned as is). */
  sum(parts: readonly string[]): string {
    if (parts.length === 1) return parts[0]!;
    return this.op('Sum', parts, {}, 'acc');
  }
}
