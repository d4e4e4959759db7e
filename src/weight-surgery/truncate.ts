/**
 * The part of a model that computes one tensor: the tensor becomes the only output and every node it does not
 * depend on is dropped (with its initializers). Explaining this model with a seed at the tensor starts the backward
 * pass at a hidden layer — CAV-conditioned relevance seeds it with the CAV.
 */
import type { ModelProto, NodeProto } from 'onnx-buf';
import { create } from '@bufbuild/protobuf';
import { ValueInfoProtoSchema } from 'onnx-buf';
import { InvalidArgumentError } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { cloneModel } from '../onnx/model.js';

export function truncateAt(model: ModelProto, tensor: string): ModelProto {
  const copy = cloneModel(model);
  const g = new Graph(copy);
  if (!g.producer(tensor)) throw new InvalidArgumentError('--layer', `no tensor named '${tensor}' is computed by the model`, 'use `xsys inspect` to list tensor names');
  const keep = new Set<NodeProto>();
  const stack = [tensor];
  const seen = new Set<string>();
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    const p = g.producer(t);
    if (!p || keep.has(p)) continue;
    keep.add(p);
    for (const i of p.input) if (i) stack.push(i);
  }
  g.removeNodes(new Set(g.nodes.filter((n) => !keep.has(n))));
  g.proto.output = [create(ValueInfoProtoSchema, { name: tensor, type: { value: { case: 'tensorType', value: { elemType: 1 } } } })];
  g.proto.valueInfo = g.proto.valueInfo.filter((v) => v.name !== tensor);
  g.pruneInitializers();
  return copy;
}
