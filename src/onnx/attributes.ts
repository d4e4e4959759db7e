import { create } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType as AT,
  NodeProtoSchema,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
} from 'onnx-buf';

export type AttrValue =
  | { int: number }
  | { ints: readonly number[] }
  | { float: number }
  | { floats: readonly number[] }
  | { string: string }
  | { tensor: TensorProto };

export function getAttr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = getAttr(node, name);
  return a ? Number(a.i) : fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = getAttr(node, name);
  return a ? a.ints.map(Number) : undefined;
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = getAttr(node, name);
  return a ? a.f : fallback;
}

export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = getAttr(node, name);
  return a ? new TextDecoder().decode(a.s) : fallback;
}

export function makeAttr(name: string, v: AttrValue): AttributeProto {
  if ('int' in v) return create(AttributeProtoSchema, { name, type: AT.INT, i: BigInt(v.int) });
  if ('ints' in v) return create(AttributeProtoSchema, { name, type: AT.INTS, ints: v.ints.map((x) => BigInt(x)) });
  if ('float' in v) return create(AttributeProtoSchema, { name, type: AT.FLOAT, f: v.float });
  if ('floats' in v) return create(AttributeProtoSchema, { name, type: AT.FLOATS, floats: [...v.floats] });
  if ('string' in v) return create(AttributeProtoSchema, { name, type: AT.STRING, s: new TextEncoder().encode(v.string) });
  return create(AttributeProtoSchema, { name, type: AT.TENSOR, t: v.tensor });
}

export function makeNode(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  name: string,
  attrs: Record<string, AttrValue | undefined> = {},
  domain = '',
): NodeProto {
  const attribute: AttributeProto[] = [];
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) attribute.push(makeAttr(k, v));
  return create(NodeProtoSchema, { opType, input: [...inputs], output: [...outputs], name, attribute, domain });
}

/** Copies the attributes of a node, dropping the named ones (used when re-emitting a forward node with new weights). */
export function copyAttrs(node: NodeProto, drop: readonly string[] = []): AttributeProto[] {
  return node.attribute.filter((a) => !drop.includes(a.name)).map((a) => create(AttributeProtoSchema, a));
}
