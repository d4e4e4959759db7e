/**
 * Activation steering (the X-SYS instance of SemanticLens): chosen components are suppressed (factor 0), weakened or
 * amplified by compiling a `Mul` node into the graph right after their layer — the layer's output is multiplied by a
 * per-channel constant [1, C, 1, …] and every consumer reads the product. The result is an ordinary ONNX model:
 * predictions and every explanation method (LRP, CRP, …) run on it unchanged, and it can be saved as the corrected
 * model file. The layer tensor keeps its name (it is the value before steering), so concept layers stay addressable.
 */
import type { ModelProto } from 'onnx-buf';
import { InvalidArgumentError } from '../errors.js';
import { cloneModel } from '../onnx/model.js';
import { floatTensor } from '../onnx/tensor.js';
import { makeNode } from '../onnx/attributes.js';
import { channelLayers } from '../concepts/layers.js';

export interface SteeringEdit {
  layer: string;
  channels: number[];
  /** Multiplier of the channels' activation: 0 suppresses, > 1 amplifies. */
  factor: number;
}

export const MAX_STEER_FACTOR = 100;

export function steerModel(model: ModelProto, edits: readonly SteeringEdit[]): ModelProto {
  if (edits.length === 0) throw new InvalidArgumentError('edits', 'no component to steer');
  const layers = new Map(channelLayers(model).map((l) => [l.tensor, l]));
  const perLayer = new Map<string, Float32Array>();
  for (const e of edits) {
    const l = layers.get(e.layer);
    if (model.graph?.output.some((o) => o.name === e.layer)) throw new InvalidArgumentError('layer', `'${e.layer}' is a model output`, 'steer a hidden layer; scaling an output only rescales its scores');
    if (!l) throw new InvalidArgumentError('layer', `'${e.layer}' is not a layer with channels (see \`xsys concepts layers\`)`);
    if (!Number.isFinite(e.factor) || Math.abs(e.factor) > MAX_STEER_FACTOR) throw new InvalidArgumentError('factor', `must be a number with |factor| ≤ ${MAX_STEER_FACTOR}, got ${e.factor}`);
    if (e.channels.length === 0) throw new InvalidArgumentError('channels', `no channel given for '${e.layer}'`);
    let scale = perLayer.get(e.layer);
    if (!scale) perLayer.set(e.layer, (scale = new Float32Array(l.channels).fill(1)));
    for (const c of e.channels) {
      if (!Number.isInteger(c) || c < 0 || c >= l.channels) throw new InvalidArgumentError('channels', `channel ${c} is out of range ('${e.layer}' has ${l.channels} channels)`);
      scale[c] = scale[c]! * e.factor;
    }
  }
  const copy = cloneModel(model);
  const graph = copy.graph!;
  const taken = new Set([...graph.node.flatMap((n) => [...n.input, ...n.output]), ...graph.initializer.map((t) => t.name)]);
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  for (const [tensor, scale] of perLayer) {
    const rank = layers.get(tensor)!.shape.length;
    const scaleName = fresh(`${tensor}_xsys_steer_scale`);
    const steered = fresh(`${tensor}_xsys_steered`);
    graph.initializer.push(floatTensor(scaleName, scale, [1, scale.length, ...new Array<number>(rank - 2).fill(1)]));
    for (const n of graph.node) n.input = n.input.map((i) => (i === tensor ? steered : i));
    const at = graph.node.findIndex((n) => n.output.includes(tensor));
    graph.node.splice(at + 1, 0, makeNode('Mul', [tensor, scaleName], [steered], fresh(`xsys_steer${tensor.replace(/[^A-Za-z0-9_]/g, '_')}`)));
  }
  return copy;
}
