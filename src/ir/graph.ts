import { create } from '@bufbuild/protobuf';
import { ValueInfoProtoSchema, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from 'onnx-buf';
import { getAttr } from '../onnx/attributes.js';
import { decodeTensor, type ConstTensor } from '../onnx/tensor.js';
import { XsysError } from '../errors.js';

/**
 * A queryable, rewritable view of an ONNX graph. It owns the ModelProto it wraps (callers clone first) and keeps
 * node order topological, so passes can walk forward or backward without re-sorting.
 */
export class Graph {
  readonly model: ModelProto;
  readonly proto: GraphProto;
  private producerMap = new Map<string, NodeProto>();
  private consumerMap = new Map<string, NodeProto[]>();
  private initMap = new Map<string, TensorProto>();
  private constCache = new Map<string, ConstTensor | null>();
  private used = new Set<string>();
  private counter = 0;

  constructor(model: ModelProto) {
    if (!model.graph) throw new XsysError('model has no graph');
    this.model = model;
    this.proto = model.graph;
    this.sortTopologically();
    this.reindex();
  }

  get nodes(): NodeProto[] {
    return this.proto.node;
  }

  /** Graph inputs that are real inputs, not initializers listed as inputs (old exporters do that). */
  get inputs(): ValueInfoProto[] {
    return this.proto.input.filter((i) => !this.initMap.has(i.name));
  }

  get outputs(): ValueInfoProto[] {
    return this.proto.output;
  }

  reindex(): void {
    this.producerMap.clear();
    this.consumerMap.clear();
    this.initMap.clear();
    this.constCache.clear();
    for (const t of this.proto.initializer) {
      this.initMap.set(t.name, t);
      this.used.add(t.name);
    }
    for (const i of this.proto.input) this.used.add(i.name);
    for (const n of this.proto.node) {
      this.used.add(n.name);
      for (const o of n.output) {
        if (o) this.producerMap.set(o, n);
        this.used.add(o);
      }
      for (const i of n.input) {
        if (!i) continue;
        const list = this.consumerMap.get(i);
        if (list) {
          if (!list.includes(n)) list.push(n);
        } else this.consumerMap.set(i, [n]);
      }
    }
  }

  producer(tensor: string): NodeProto | undefined {
    return this.producerMap.get(tensor);
  }

  consumers(tensor: string): NodeProto[] {
    return this.consumerMap.get(tensor) ?? [];
  }

  isGraphOutput(tensor: string): boolean {
    return this.proto.output.some((o) => o.name === tensor);
  }

  initializer(name: string): TensorProto | undefined {
    return this.initMap.get(name);
  }

  /** The value of a tensor that is known at compile time: an initializer or the output of a Constant node. */
  constant(name: string): ConstTensor | undefined {
    if (!name) return undefined;
    const cached = this.constCache.get(name);
    if (cached !== undefined) return cached ?? undefined;
    let value: ConstTensor | undefined;
    const init = this.initMap.get(name);
    if (init && !this.proto.input.some((i) => i.name === name)) value = decodeTensor(init);
    else {
      const p = this.producerMap.get(name);
      if (p && p.opType === 'Constant') {
        const a = getAttr(p, 'value');
        if (a?.t) value = decodeTensor(a.t);
        else {
          const vf = getAttr(p, 'value_float');
          const vi = getAttr(p, 'value_int');
          const vis = getAttr(p, 'value_ints');
          const vfs = getAttr(p, 'value_floats');
          if (vf) value = { dataType: 1, dims: [], data: Float32Array.of(vf.f) };
          else if (vi) value = { dataType: 7, dims: [], data: BigInt64Array.of(vi.i) };
          else if (vis) value = { dataType: 7, dims: [vis.ints.length], data: BigInt64Array.from(vis.ints) };
          else if (vfs) value = { dataType: 1, dims: [vfs.floats.length], data: Float32Array.from(vfs.floats) };
        }
      }
    }
    this.constCache.set(name, value ?? null);
    return value;
  }

  isConstant(name: string): boolean {
    return this.constant(name) !== undefined;
  }

  /** A name not yet used in the graph, derived from a readable base. */
  fresh(base: string): string {
    let name = base;
    while (this.used.has(name)) name = `${base}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  addInitializer(t: TensorProto): string {
    this.proto.initializer.push(t);
    // The name may have been asked about before, as a node's output (constant folding replaces that node).
    this.constCache.delete(t.name);
    this.initMap.set(t.name, t);
    this.used.add(t.name);
    return t.name;
  }

  addNode(n: NodeProto): NodeProto {
    this.proto.node.push(n);
    this.used.add(n.name);
    for (const o of n.output) {
      this.producerMap.set(o, n);
      this.used.add(o);
    }
    for (const i of n.input) {
      if (!i) continue;
      const list = this.consumerMap.get(i);
      // A node reading a tensor twice (x · x) is one consumer, as reindex() counts it.
      if (list) {
        if (!list.includes(n)) list.push(n);
      } else this.consumerMap.set(i, [n]);
    }
    return n;
  }

  addOutput(name: string, elemType = 1): void {
    if (this.isGraphOutput(name)) return;
    this.proto.output.push(
      create(ValueInfoProtoSchema, { name, type: { value: { case: 'tensorType', value: { elemType } } } }),
    );
  }

  /** Replaces every use of tensor `from` (node inputs and graph outputs) by `to`. */
  replaceUses(from: string, to: string): void {
    for (const n of this.proto.node) n.input = n.input.map((i) => (i === from ? to : i));
    for (const o of this.proto.output) if (o.name === from) o.name = to;
  }

  removeNodes(remove: Set<NodeProto>): void {
    this.proto.node = this.proto.node.filter((n) => !remove.has(n));
    this.reindex();
  }

  /** Drops initializers no node or output uses any more (e.g. after folding BatchNorm). */
  pruneInitializers(): void {
    const usedNames = new Set<string>();
    for (const n of this.proto.node) for (const i of n.input) usedNames.add(i);
    for (const o of this.proto.output) usedNames.add(o.name);
    this.proto.initializer = this.proto.initializer.filter((t) => usedNames.has(t.name));
    this.proto.input = this.proto.input.filter((i) => !this.initMap.has(i.name) || usedNames.has(i.name));
    this.reindex();
  }

  /** Kahn's algorithm; ONNX requires topological order but some exporters are sloppy. */
  sortTopologically(): void {
    const nodes = this.proto.node;
    const produced = new Map<string, number>();
    nodes.forEach((n, idx) =>
      n.output.forEach((o) => {
        if (!o) return;
        if (produced.has(o)) {
          throw new XsysError(`tensor '${o}' has two producers ('${nodeLabel(nodes[produced.get(o)!]!)}' and '${nodeLabel(n)}')`, { hint: 'ONNX tensors have one producer; re-export the model' });
        }
        produced.set(o, idx);
      }),
    );
    const indeg = new Array<number>(nodes.length).fill(0);
    const users: number[][] = nodes.map(() => []);
    nodes.forEach((n, idx) => {
      const deps = new Set<number>();
      for (const i of n.input) {
        const p = produced.get(i);
        // A node reading its own output is a cycle of length one (walks up the producers would never end).
        if (p !== undefined) deps.add(p);
      }
      indeg[idx] = deps.size;
      for (const d of deps) users[d]!.push(idx);
    });
    const order: number[] = [];
    const ready: number[] = [];
    indeg.forEach((d, i) => d === 0 && ready.push(i));
    while (ready.length) {
      const i = ready.shift()!;
      order.push(i);
      for (const u of users[i]!) if (--indeg[u]! === 0) ready.push(u);
    }
    if (order.length !== nodes.length) {
      const stuck = nodes.find((_, i) => indeg[i]! > 0);
      throw new XsysError(`graph has a cycle (at node '${stuck?.name}' (${stuck?.opType}))`, {
        hint: 'ONNX graphs must be acyclic; re-export the model',
      });
    }
    this.proto.node = order.map((i) => nodes[i]!);
  }
}

/** Name a node for messages even when the exporter left it unnamed. */
export function nodeLabel(n: NodeProto): string {
  return n.name || `${n.opType}->${n.output[0] ?? '?'}`;
}

/**
 * The outer-scope tensors a node's subgraphs (If branches, Loop/Scan bodies) read: names used inside and not
 * defined there. They are inputs of the node as much as its listed ones (activity and reachability follow them).
 */
export function subgraphCaptures(n: NodeProto): string[] {
  const out = new Set<string>();
  const visit = (sub: GraphProto, outer: ReadonlySet<string>) => {
    const defined = new Set(outer);
    for (const i of sub.input) defined.add(i.name);
    for (const t of sub.initializer) defined.add(t.name);
    for (const m of sub.node) for (const o of m.output) defined.add(o);
    for (const m of sub.node) {
      for (const i of m.input) if (i && !defined.has(i)) out.add(i);
      for (const a of m.attribute) for (const s of a.g ? [a.g, ...a.graphs] : a.graphs) visit(s, defined);
    }
    for (const o of sub.output) if (!defined.has(o.name)) out.add(o.name);
  };
  for (const a of n.attribute) for (const s of a.g ? [a.g, ...a.graphs] : a.graphs) visit(s, new Set());
  return [...out];
}
