/** Helpers for tests that build tiny ONNX models by hand and run them with onnxruntime-node. */
import { create } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { ModelProtoSchema, ValueInfoProtoSchema, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from 'onnx-buf';
import { serializeModel } from '../../src/onnx/model.js';

export { makeNode } from '../../src/onnx/attributes.js';
export { floatTensor, int64Tensor } from '../../src/onnx/tensor.js';

/** A float32 tensor value info; a string dim is symbolic. */
export function valueInfo(name: string, dims?: readonly (number | string)[]): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: {
      value: {
        case: 'tensorType',
        value: {
          elemType: 1,
          shape: dims
            ? { dim: dims.map((d) => (typeof d === 'number' ? { value: { case: 'dimValue' as const, value: BigInt(d) } } : { value: { case: 'dimParam' as const, value: d } })) }
            : undefined,
        },
      },
    },
  });
}

export interface ModelSpec {
  nodes: NodeProto[];
  initializers?: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  opset?: number;
}

export function buildModel(spec: ModelSpec): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'xsys-test',
    opsetImport: [{ domain: '', version: BigInt(spec.opset ?? 17) }],
    graph: {
      name: 'test',
      node: spec.nodes,
      initializer: spec.initializers ?? [],
      input: spec.inputs,
      output: spec.outputs,
    },
  });
}

export type Feeds = Record<string, { data: Float32Array; dims: number[] }>;

export async function runModel(model: ModelProto | Uint8Array, feeds: Feeds): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const bytes = model instanceof Uint8Array ? model : serializeModel(model);
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  const f: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor('float32', v.data, v.dims);
  const out = await session.run(f);
  const res: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const [k, v] of Object.entries(out)) res[k] = { data: (v as ort.Tensor).data as Float32Array, dims: [...(v as ort.Tensor).dims] };
  await session.release();
  return res;
}

/** Deterministic pseudo-random numbers: the library's own mulberry32. */
export { mulberry32 as rng } from '../../src/seeded-random.js';

/** n uniform values in [lo, hi). */
export function uniform(r: () => number, n: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** max |a − b| / max(|b|, tiny) */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / Math.max(m, 1e-12);
}
