/**
 * The compiled graph behind reference samples: the model's forward pass plus LRP down to the lowest chosen layer,
 * with per-channel statistics of each chosen layer reduced inside the graph — so one ONNX Runtime run returns
 * [B, C] numbers per layer instead of whole activation and relevance tensors:
 *   act_max  — activation maximum over space, act_pos its flat spatial position,
 *   act_sum  — activation summed over space,
 *   rel_sum  — relevance (for the seeded class) summed over space, rel_pos the position of the relevance maximum.
 * Nodes only the input attribution needed (the backward pass below the lowest layer) are removed.
 */
import type { ModelProto } from 'onnx-buf';
import { makeNode } from '../onnx/attributes.js';
import { floatTensor, int64Tensor } from '../onnx/tensor.js';
import { cloneModel, serializeModel } from '../onnx/model.js';
import { Graph } from '../ir/graph.js';
import { inferShapes } from '../ops/shapes.js';
import { compileExplainer } from '../compiler/compile.js';
import type { Composite } from '../composites/index.js';
import { InvalidArgumentError } from '../errors.js';

export const LAYER_STATS = ['act_max', 'act_pos', 'act_sum', 'rel_sum', 'rel_pos'] as const;
export type LayerStat = (typeof LAYER_STATS)[number];

export interface StatisticsGraph {
  model: ModelProto;
  inputName: string;
  seedName: string;
  scoresName: string;
  /**
   * With `predictTargets`: the graph seeds its backward pass with its own arg-max class (no seed input) and returns
   * that class per sample under this name (int64 [B]).
   */
  predictionName?: string;
  /** Per layer: the output name of each statistic, its channel count and spatial shape. */
  layers: Record<string, { outputs: Record<LayerStat, string>; channels: number; spatial: number[] }>;
  bytes(): Uint8Array;
}

export interface StatisticsOptions {
  layers: readonly string[];
  composite?: string | Composite;
  params?: Record<string, number>;
  output?: string;
  /**
   * Explain each sample's predicted class inside the graph: ArgMax of the scores, one-hot, as the seed — one run per
   * batch instead of a forward pass for the predictions and then the seeded run.
   */
  predictTargets?: boolean;
}

export function compileStatistics(model: ModelProto, options: StatisticsOptions): StatisticsGraph {
  if (options.layers.length === 0) throw new InvalidArgumentError('layers', 'no layers chosen');
  // Shapes of the original model: the channel axis must exist and be fixed.
  const probe = new Graph(cloneModel(model));
  const info = inferShapes(probe);
  const shapes: Record<string, number[]> = {};
  for (const l of options.layers) {
    if (!probe.producer(l)) throw new InvalidArgumentError('layers', `no tensor named '${l}' in the model`, 'use `xsys concepts layers <model>` to list the layers with channels');
    const s = info.get(l)?.shape;
    if (!s || s.length < 2) throw new InvalidArgumentError('layers', `'${l}' has no channel axis (shape ${s ? `[${s.join(', ')}]` : 'unknown'})`);
    if (!s.slice(1).every((d) => typeof d === 'number')) throw new InvalidArgumentError('layers', `'${l}' has a symbolic channel or spatial size [${s.join(', ')}]`);
    shapes[l] = s.slice(1) as number[];
  }
  const compiled = compileExplainer(model, { method: 'lrp', composite: options.composite, params: options.params, output: options.output, relevanceAt: [...options.layers] });
  const g = new Graph(compiled.model);
  const keep = new Set<string>([compiled.scoresName]);
  const layers: StatisticsGraph['layers'] = {};
  const ints = (name: string, v: number[]) => g.addInitializer(int64Tensor(g.fresh(name), v));
  for (const l of options.layers) {
    const [channels, ...spatial] = shapes[l]!;
    const flatShape = ints('xsys_stats_flat', [0, channels!, -1]);
    const rel = compiled.relevanceAtNames[l]!;
    // relevanceAt outputs are Identity copies; read their source so the copy can go.
    const relSrc = g.producer(rel)!.input[0]!;
    const node = (op: string, inputs: string[], base: string, attrs = {}) => {
      const out = g.fresh(base);
      g.addNode(makeNode(op, inputs, [out], g.fresh(`${out}_node`), attrs));
      return out;
    };
    const actFlat = node('Reshape', [l, flatShape], 'xsys_stats_act_flat');
    const relFlat = node('Reshape', [relSrc, flatShape], 'xsys_stats_rel_flat');
    const outputs = {
      act_max: node('ReduceMax', [actFlat], `act_max_${safe(l)}`, { axes: { ints: [2] }, keepdims: { int: 0 } }),
      act_pos: node('ArgMax', [actFlat], `act_pos_${safe(l)}`, { axis: { int: 2 }, keepdims: { int: 0 } }),
      act_sum: node('ReduceSum', [actFlat, ints('xsys_stats_axis2', [2])], `act_sum_${safe(l)}`, { keepdims: { int: 0 } }),
      rel_sum: node('ReduceSum', [relFlat, ints('xsys_stats_axis2', [2])], `rel_sum_${safe(l)}`, { keepdims: { int: 0 } }),
      rel_pos: node('ArgMax', [relFlat], `rel_pos_${safe(l)}`, { axis: { int: 2 }, keepdims: { int: 0 } }),
    } satisfies Record<LayerStat, string>;
    for (const [k, o] of Object.entries(outputs)) {
      g.addOutput(o, k.endsWith('_pos') ? 7 : 1);
      keep.add(o);
    }
    layers[l] = { outputs, channels: channels!, spatial };
  }
  let predictionName: string | undefined;
  if (options.predictTargets) {
    // seed = one-hot(argmax(scores)) computed where the seed input was: ArgMax takes the first maximum, as
    // argmaxRows does on the JavaScript side, so both paths explain the same class.
    const node = (op: string, inputs: string[], base: string, attrs = {}) => {
      const out = g.fresh(base);
      g.addNode(makeNode(op, inputs, [out], g.fresh(`${out}_node`), attrs));
      return out;
    };
    const pred = node('ArgMax', [compiled.scoresName], 'xsys_stats_pred', { axis: { int: 1 }, keepdims: { int: 0 } });
    const depth = node('Gather', [node('Shape', [compiled.scoresName], 'xsys_stats_shape'), g.addInitializer(int64Tensor(g.fresh('xsys_stats_one'), [1], []))], 'xsys_stats_classes', { axis: { int: 0 } });
    const values = g.addInitializer(floatTensor(g.fresh('xsys_stats_onehot_values'), Float32Array.of(0, 1), [2]));
    g.addNode(makeNode('OneHot', [pred, depth, values], [compiled.seedName], g.fresh('xsys_stats_seed_node'), { axis: { int: -1 } }));
    g.proto.input = g.proto.input.filter((i) => i.name !== compiled.seedName);
    // Nodes stay in topological order: the four seed nodes go right after the node that produces the scores.
    const added = g.proto.node.splice(g.proto.node.length - 4, 4);
    const at = g.proto.node.findIndex((n) => n.output.includes(compiled.scoresName));
    g.proto.node.splice(at + 1, 0, ...added);
    g.addOutput(pred, 7);
    keep.add(pred);
    predictionName = pred;
  }
  g.proto.output = g.proto.output.filter((o) => keep.has(o.name));
  pruneDeadNodes(g);
  return { model: compiled.model, inputName: compiled.inputNames[0]!, seedName: compiled.seedName, scoresName: compiled.scoresName, ...(predictionName ? { predictionName } : {}), layers, bytes: () => serializeModel(compiled.model) };
}

function safe(t: string): string {
  return t.replace(/[^A-Za-z0-9_]/g, '_');
}

/** Drops nodes none of whose outputs reach a graph output (the backward pass below the lowest layer). */
function pruneDeadNodes(g: Graph): void {
  const live = new Set(g.outputs.map((o) => o.name));
  const kept: typeof g.proto.node = [];
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k]!;
    if (!n.output.some((o) => o && live.has(o))) continue;
    kept.push(n);
    for (const i of n.input) if (i) live.add(i);
  }
  g.proto.node = kept.reverse();
  g.pruneInitializers();
}
