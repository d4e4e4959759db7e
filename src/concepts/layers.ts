import type { ModelProto } from 'onnx-buf';
import { cloneModel } from '../onnx/model.js';
import { Graph } from '../ir/graph.js';
import { inferShapes } from '../ops/shapes.js';

export interface ChannelLayer {
  tensor: string;
  opType: string;
  shape: (number | string | null)[];
  channels: number;
}

const LAYER_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'BatchNormalization']);

/** Outputs of convolution and linear nodes with a fixed channel axis (axis 1): what CRP can condition on. */
export function channelLayers(model: ModelProto): ChannelLayer[] {
  const g = new Graph(cloneModel(model));
  const info = inferShapes(g);
  const out: ChannelLayer[] = [];
  for (const n of g.nodes) {
    if (!LAYER_OPS.has(n.opType)) continue;
    const t = n.output[0]!;
    const shape = info.get(t)?.shape;
    if (!shape || shape.length < 2 || typeof shape[1] !== 'number') continue;
    out.push({ tensor: t, opType: n.opType, shape: [...shape], channels: shape[1] });
  }
  return out;
}
