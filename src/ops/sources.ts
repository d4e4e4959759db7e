import { attrInt, getAttr } from '../onnx/attributes.js';
import { constNumbers } from '../onnx/tensor.js';
import { MODEL_LIMITS } from '../onnx/limits.js';
import { decodeValue, normAxis, type Dim } from '../ir/shapes.js';
import { always, type OpSpec, type ShapeRule, type ValueRule } from './op.js';

/*
 * Ops whose outputs carry no gradient: constants, shapes of tensors, index generators and random numbers. The
 * gradient pass stops at them; shape inference tracks the shape vectors they compute.
 */

const constantShape: ShapeRule = ({ g }, n) => {
  const c = g.constant(n.output[0]!);
  return [{ elemType: c?.dataType ?? 0, shape: c?.dims }];
};

const shapeShape: ShapeRule = ({ inp }, n) => {
  const s = inp(0).shape;
  if (!s) return [{ elemType: 7 }];
  const start = normAxis(attrInt(n, 'start', 0), s.length);
  const endA = getAttr(n, 'end') ? normAxis(attrInt(n, 'end', s.length), s.length) : s.length;
  return [{ elemType: 7, shape: [Math.max(0, endA - start)] }];
};

/** The (symbolic) dims of the input, sliced by start/end. */
const shapeValue: ValueRule = ({ info }, n) => {
  const s = info.get(n.input[0]!)?.shape;
  if (!s) return undefined;
  const start = normAxis(attrInt(n, 'start', 0), s.length);
  const end = getAttr(n, 'end') ? normAxis(attrInt(n, 'end', s.length), s.length) : s.length;
  return s.slice(start, end);
};

const constantOfShapeShape: ShapeRule = ({ dims }, n) => {
  const shp = dims(0);
  const v = getAttr(n, 'value')?.t;
  return [{ elemType: v?.dataType ?? 1, shape: shp }];
};

const constantOfShapeValue: ValueRule = ({ val }, n) => {
  const shp = val(n.input[0]);
  const v = getAttr(n, 'value')?.t;
  if (!shp || shp.length !== 1 || typeof shp[0] !== 'number' || shp[0] < 0 || shp[0] > MODEL_LIMITS.maxShapeValues) return undefined;
  const fill = v ? constNumbers({ dataType: v.dataType, dims: [], data: decodeValue(v) })[0] ?? 0 : 0;
  return new Array<Dim>(shp[0]).fill(fill);
};

const source = (extra: Partial<OpSpec> = {}): OpSpec => ({ kind: 'source', differentiable: false, ...extra });

export const sourceOps: Record<string, OpSpec> = {
  Constant: source({ shape: constantShape }),
  ConstantOfShape: source({ shape: constantOfShapeShape, value: constantOfShapeValue }),
  Range: source({ shape: ({ inp }) => [{ elemType: inp(0).elemType, shape: [null] }] }),
  Shape: source({ shape: shapeShape, value: shapeValue, nonNegative: always }),
  // The element count of a tensor of static shape (`Size(Shape(x))` is x's rank: If conditions of exports test it).
  Size: source({ shape: () => [{ elemType: 7, shape: [] }], nonNegative: always, value: ({ info }, n) => {
    const s = info.get(n.input[0]!)?.shape;
    return s && s.every((d) => typeof d === 'number') ? [(s as number[]).reduce((a, b) => a * b, 1)] : undefined;
  } }),
  NonZero: source(),
  RandomNormal: source(),
  RandomUniform: source(),
  RandomNormalLike: source(),
  RandomUniformLike: source(),
  EyeLike: source(),
  OneHot: source(),
};
