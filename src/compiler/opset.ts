import type { NodeProto } from 'onnx-buf';
import { attrInt, attrInts, getAttr, makeNode } from '../onnx/attributes.js';
import { defaultOpset } from '../onnx/model.js';
import { int64Tensor, floatTensor } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';
import { UnsupportedNodeError } from '../errors.js';
import { inferShapes } from '../ops/shapes.js';

/** The backward pass needs ScatterElements(reduction=add) (opset 16) and Shape(start, end) (opset 15). */
export const COMPILED_OPSET = 17;

/**
 * Raises the default-domain opset of the graph to COMPILED_OPSET, rewriting the forward ops whose signature changed
 * on the way (attributes that became inputs in opsets 10–13, Softmax's 2-D coercion before 13), so the function
 * computed is unchanged.
 */
export function upgradeOpset(g: Graph): void {
  const from = defaultOpset(g.model);
  if (from >= COMPILED_OPSET) return;
  if (from < 7) throw new UnsupportedNodeError('<model>', `opset ${from}`, 'models older than opset 7 are not supported', 're-export the model with opset ≥ 11');
  const extra: NodeProto[] = [];
  const info = inferShapes(g);
  // Before opset 13, Softmax flattened to 2-D at `axis`; when `axis` is the last one that is the same function.
  const normalisesLastAxis = (n: NodeProto): boolean => {
    const rank = info.get(n.input[0]!)?.shape?.length;
    const axis = attrInt(n, 'axis', 1);
    return rank !== undefined && (axis === rank - 1 || axis === -1);
  };
  const axesInput = (n: NodeProto, attr: string) => {
    const v = attrInts(n, attr);
    n.attribute = n.attribute.filter((a) => a.name !== attr);
    if (v) {
      const name = g.addInitializer(int64Tensor(g.fresh(`${n.name || n.opType}_${attr}`), v));
      while (n.input.length < 1) n.input.push('');
      n.input[1] = name;
    }
  };
  for (const n of g.nodes) {
    if (n.domain !== '' && n.domain !== 'ai.onnx') continue;
    switch (n.opType) {
      case 'Squeeze':
      case 'Unsqueeze':
      case 'ReduceSum':
        if (from < 13) axesInput(n, 'axes');
        break;
      case 'Slice':
        if (from < 10) {
          // Opset 10 moved starts/ends/axes from attributes to inputs.
          const starts = attrInts(n, 'starts') ?? [];
          const ends = attrInts(n, 'ends') ?? [];
          const axes = attrInts(n, 'axes');
          n.attribute = n.attribute.filter((a) => !['starts', 'ends', 'axes'].includes(a.name));
          n.input[1] = g.addInitializer(int64Tensor(g.fresh(`${n.name}_starts`), starts));
          n.input[2] = g.addInitializer(int64Tensor(g.fresh(`${n.name}_ends`), ends));
          if (axes) n.input[3] = g.addInitializer(int64Tensor(g.fresh(`${n.name}_axes`), axes));
        }
        break;
      case 'Split':
        if (from < 13) axesInput(n, 'split');
        break;
      case 'Clip':
        if (from < 11) {
          const lo = getAttr(n, 'min')?.f;
          const hi = getAttr(n, 'max')?.f;
          n.attribute = n.attribute.filter((a) => a.name !== 'min' && a.name !== 'max');
          n.input[1] = lo === undefined ? '' : g.addInitializer(floatTensor(g.fresh(`${n.name}_min`), Float32Array.of(lo), []));
          n.input[2] = hi === undefined ? '' : g.addInitializer(floatTensor(g.fresh(`${n.name}_max`), Float32Array.of(hi), []));
          while (n.input.length && n.input[n.input.length - 1] === '') n.input.pop();
        }
        break;
      case 'Pad':
        if (from < 11) {
          const pads = attrInts(n, 'pads') ?? [];
          const value = getAttr(n, 'value')?.f ?? 0;
          n.attribute = n.attribute.filter((a) => a.name !== 'pads' && a.name !== 'value');
          n.input[1] = g.addInitializer(int64Tensor(g.fresh(`${n.name}_pads`), pads));
          n.input[2] = g.addInitializer(floatTensor(g.fresh(`${n.name}_value`), Float32Array.of(value), []));
        }
        break;
      case 'Softmax':
      case 'LogSoftmax':
      case 'Hardmax':
        if (from < 13 && !normalisesLastAxis(n)) {
          // Old semantics: flatten to 2-D at `axis` (default 1), normalise rows, reshape back.
          const axis = attrInt(n, 'axis', 1);
          const x = n.input[0]!;
          const y = n.output[0]!;
          const flat = g.fresh(`${x}_2d`);
          const soft = g.fresh(`${y}_2d`);
          const shape = g.fresh(`${x}_shape`);
          extra.push(makeNode('Flatten', [x], [flat], g.fresh(`${n.name}_flatten`), { axis: { int: axis } }));
          extra.push(makeNode('Shape', [x], [shape], g.fresh(`${n.name}_shape`)));
          extra.push(makeNode('Reshape', [soft, shape], [y], g.fresh(`${n.name}_reshape`)));
          n.input[0] = flat;
          n.output[0] = soft;
          n.attribute = n.attribute.filter((a) => a.name !== 'axis');
          n.attribute.push(...makeNode('X', [], [], '', { axis: { int: 1 } }).attribute);
        }
        break;
      case 'Upsample':
        toResize(g, n, from);
        break;
      case 'Resize':
        if (from === 10) toResize(g, n, from);
        break;
      case 'Scatter':
        throw new UnsupportedNodeError(n.name, n.opType, `deprecated op (opset ${from}) cannot be carried into opset ${COMPILED_OPSET}`, 're-export the model with opset ≥ 11 (ScatterElements)');
      default:
        break;
    }
  }
  if (extra.length) {
    g.proto.node.push(...extra);
    g.sortTopologically();
  }
  for (const o of g.model.opsetImport) if (o.domain === '' || o.domain === 'ai.onnx') o.version = BigInt(COMPILED_OPSET);
  if (g.model.irVersion < 8n) g.model.irVersion = 8n;
  g.reindex();
}

/**
 * Upsample (opsets 7–9) and Resize-10 as the Resize of opset 11+: inputs (X, roi, scales), and the coordinate mapping
 * they always had — x_in = x_out / scale (asymmetric), nearest rounding down (floor), as ONNX Runtime computes them.
 */
function toResize(g: Graph, n: NodeProto, from: number): void {
  const mode = getAttr(n, 'mode');
  const modeName = mode ? new TextDecoder().decode(mode.s) : 'nearest';
  let scales = n.input[1] ?? '';
  if (n.opType === 'Upsample' && from < 9) {
    const values = getAttr(n, 'scales')?.floats ?? [];
    scales = g.addInitializer(floatTensor(g.fresh(`${n.name || 'upsample'}_scales`), Float32Array.from(values), [values.length]));
  }
  n.opType = 'Resize';
  n.input = [n.input[0]!, '', scales];
  n.attribute = makeNode('X', [], [], '', {
    mode: { string: modeName === 'bilinear' ? 'linear' : modeName },
    coordinate_transformation_mode: { string: 'asymmetric' },
    nearest_mode: { string: 'floor' },
  }).attribute;
}
