/**
 * A fixed linear map prepended to a model's input: the new model takes coefficients f and computes the old model on
 * x = M f. DFT-LRP's virtual inspection layer (Vielhaben et al. 2024) is such a map — the inverse DFT (or STFT) — so
 * relevance propagated to the new input lands on frequency (or time-frequency) components.
 */
import { create } from '@bufbuild/protobuf';
import { ValueInfoProtoSchema, type ModelProto, type NodeProto } from 'onnx-buf';
import { InvalidArgumentError } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { makeNode } from '../onnx/attributes.js';
import { cloneModel } from '../onnx/model.js';
import { floatTensor } from '../onnx/tensor.js';

export const VIRTUAL_LAYER = 'xsys_virtual_inspection';

export interface PrependedLinear {
  model: ModelProto;
  /** The new input's name: [batch, …, F]. */
  input: string;
  /** The MatMul node's name (composites can address it). */
  node: string;
}

/**
 * `synthesis` is M, row-major [N, F]: the input's last axis (N) becomes F coefficients, x = M f along it. The input's
 * other axes are kept; the new input is named `name` (default '<input>_coefficients').
 */
export function prependLinear(model: ModelProto, synthesis: Float32Array, n: number, f: number, options: { input?: string; name?: string } = {}): PrependedLinear {
  if (synthesis.length !== n * f) throw new InvalidArgumentError('synthesis', `${synthesis.length} values are not an ${n}×${f} matrix`);
  const copy = cloneModel(model);
  const g = new Graph(copy);
  const inputs = g.inputs;
  const input = options.input ?? (inputs.length === 1 ? inputs[0]!.name : undefined);
  const decl = inputs.find((i) => i.name === input);
  if (!decl) throw new InvalidArgumentError('--input', input === undefined ? `the model has ${inputs.length} inputs; name the one to transform` : `no input named '${input}'`);
  const type = decl.type?.value.case === 'tensorType' ? decl.type.value.value : undefined;
  const dims = type?.shape?.dim ?? [];
  const last = dims.at(-1);
  if (last?.value.case === 'dimValue' && Number(last.value.value) !== n) throw new InvalidArgumentError('--input', `'${input}' has ${Number(last.value.value)} samples on its last axis, the synthesis matrix ${n}`);
  // Mᵀ [F, N]: coefficients [.., F] · Mᵀ = signal [.., N].
  const mt = new Float32Array(f * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) mt[j * n + i] = synthesis[i * f + j]!;
  const w = g.addInitializer(floatTensor(g.fresh(`${VIRTUAL_LAYER}_synthesis`), mt, [f, n]));
  const name = options.name ?? g.fresh(`${input}_coefficients`);
  const node = g.fresh(VIRTUAL_LAYER);
  const signal = g.fresh(`${input}_synthesised`);
  for (const c of [...g.consumers(input!)]) c.input = c.input.map((i) => (i === input ? signal : i));
  // If/Loop bodies read the input from the outer scope without declaring it (Silero VAD's whole network sits in an If
  // on the sample rate): those references follow too, or the body would read the coefficients' old name, now unbound.
  renameInSubgraphs(g.proto.node, input!, signal);
  g.proto.node.unshift(makeNode('MatMul', [name, w], [signal], node));
  const newDims = dims.map((d, i) => (i === dims.length - 1 ? { value: { case: 'dimValue' as const, value: BigInt(f) } } : d));
  g.proto.input = g.proto.input.map((i) => (i.name === input ? create(ValueInfoProtoSchema, { name, type: { value: { case: 'tensorType', value: { elemType: 1, shape: { dim: newDims } } } } }) : i));
  g.reindex();
  return { model: copy, input: name, node };
}

function renameInSubgraphs(nodes: readonly NodeProto[], from: string, to: string): void {
  for (const n of nodes) {
    for (const a of n.attribute) {
      for (const sub of a.g ? [a.g, ...a.graphs] : a.graphs) {
        for (const m of sub.node) m.input = m.input.map((i) => (i === from ? to : i));
        renameInSubgraphs(sub.node, from, to);
      }
    }
  }
}
