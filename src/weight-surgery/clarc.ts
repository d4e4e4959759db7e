/**
 * ClArC inside the ONNX graph (Anders et al. 2022; Pahde et al. 2023, "Reveal to Revise"): nodes inserted after a
 * layer that remove an artefact's direction from its activations, so the corrected model is an ordinary ONNX file.
 *
 * With u the CAV as read (unit norm) and w the direction written back, every consumer of the layer then sees
 *   a' = a − g(a) · (uᵀa − r) · w
 * where r = 0 projects the activations onto the complement of the CAV (P-ClArC "projection") and r = uᵀz̄ (z̄ the
 * clean activations' mean) shifts them to the clean mean along it ("mean-shift"); g(a) = 1 everywhere, or, for
 * reactive ClArC, 1[uᵀa > threshold] — the correction only applies to inputs whose activations carry the artefact.
 * A CAV over the flattened layer has u = w = v; a CAV over channel sums (one value per channel) reads the channel
 * sums (u = v broadcast over space) and writes v/(spatial size) to every position, so the corrected channel sums
 * again satisfy vᵀ Σ a' = r.
 */
import type { ModelProto } from 'onnx-buf';
import { InvalidArgumentError } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { makeNode } from '../onnx/attributes.js';
import { cloneModel, defaultOpset } from '../onnx/model.js';
import { floatTensor, int64Tensor } from '../onnx/tensor.js';

export const CLARC_MODES = ['projection', 'mean-shift'] as const;
export type ClarcMode = (typeof CLARC_MODES)[number];

export interface ClarcSpec {
  /** The tensor (a layer's output) whose consumers see the corrected activations. */
  layer: string;
  /** Per-sample dims of the layer ([C, H, W] for a conv layer; [F] for a dense one). */
  dims: readonly number[];
  /** The CAV: one value per element of the layer (flattened) or one per channel (dims[0] values). */
  direction: ArrayLike<number>;
  mode: ClarcMode;
  /** r of mean-shift: the clean activations' mean projected on the CAV (required for mean-shift). */
  reference?: number;
  /** Reactive ClArC: apply the correction only where uᵀa exceeds this. */
  threshold?: number;
}

/** The node names and tensors a correction added (for reports and tests). */
export interface ClarcInsertion {
  model: ModelProto;
  /** The corrected activations' tensor (what the layer's consumers now read). */
  corrected: string;
  /** The artefact score uᵀa per sample, [N, 1, …]. */
  score: string;
  nodes: string[];
}

function unitVector(v: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! ** 2;
  n = Math.sqrt(n);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('--cav', 'the CAV direction is zero or not finite', 'train the CAV on concept examples whose activations differ from the counterexamples');
  return Float64Array.from(v, (x) => x / n);
}

/** Inserts (reactive) P-ClArC after `spec.layer`. The input model is not changed. */
export function insertClarc(model: ModelProto, spec: ClarcSpec): ClarcInsertion {
  if (!CLARC_MODES.includes(spec.mode)) throw new InvalidArgumentError('--mode', `unknown ClArC mode '${String(spec.mode)}'`, `modes: ${CLARC_MODES.join(', ')}`);
  const copy = cloneModel(model);
  const g = new Graph(copy);
  const producer = g.producer(spec.layer);
  if (!producer && !g.inputs.some((i) => i.name === spec.layer)) {
    throw new InvalidArgumentError('--layer', `no tensor named '${spec.layer}' in the model`, 'use `xsys inspect` or `xsys concepts layers` to list layer outputs');
  }
  if (g.isGraphOutput(spec.layer) && g.consumers(spec.layer).length === 0) {
    throw new InvalidArgumentError('--layer', `'${spec.layer}' is a model output; correct a hidden layer`);
  }
  const dims = [...spec.dims];
  const total = dims.reduce((a, b) => a * b, 1);
  const spatial = total / (dims[0] ?? 1);
  const v = unitVector(spec.direction);
  let read: Float32Array;
  let write: Float32Array;
  let vDims: number[];
  if (v.length === total) {
    read = Float32Array.from(v);
    write = read;
    vDims = [1, ...dims];
  } else if (dims.length > 1 && v.length === dims[0]) {
    read = Float32Array.from(v);
    write = Float32Array.from(v, (x) => x / spatial);
    vDims = [1, dims[0]!, ...dims.slice(1).map(() => 1)];
  } else {
    throw new InvalidArgumentError('--cav', `has ${v.length} values; layer '${spec.layer}' has ${total} per sample (${dims.join('×')}) and ${dims[0]} channels`, 'train the CAV on this layer, flattened or per channel');
  }
  let reference = 0;
  if (spec.mode === 'mean-shift') {
    if (spec.reference === undefined || !Number.isFinite(spec.reference)) throw new InvalidArgumentError('--reference', 'mean-shift needs the clean mean projected on the CAV', 'pass clean data (or the CAV file\'s cleanProjection)');
    reference = spec.reference;
  }
  if (spec.threshold !== undefined && !Number.isFinite(spec.threshold)) throw new InvalidArgumentError('--threshold', `must be a finite number, got ${spec.threshold}`);

  const base = g.fresh(`xsys_clarc_${spec.layer.replace(/[^A-Za-z0-9_]/g, '_')}`);
  const name = (s: string) => g.fresh(`${base}_${s}`);
  const uName = g.addInitializer(floatTensor(name('cav'), read, vDims));
  const wName = write === read ? uName : g.addInitializer(floatTensor(name('cav_write'), write, vDims));
  const rName = g.addInitializer(floatTensor(name('reference'), Float32Array.of(reference), []));
  const axes = dims.map((_, i) => i + 1);
  const corrected = name('out');
  const consumers = [...g.consumers(spec.layer)];
  const added: string[] = [];
  const add = (op: string, inputs: string[], attrs: Parameters<typeof makeNode>[4] = {}): string => {
    const out = name(op.toLowerCase());
    const n = makeNode(op, inputs, [out], name(`${op}_node`), attrs);
    g.addNode(n);
    added.push(n.name);
    return out;
  };
  const prod = add('Mul', [spec.layer, uName]);
  // ReduceSum takes its axes as an input from opset 13 on, as an attribute before.
  const score = defaultOpset(copy) >= 13 ? add('ReduceSum', [prod, g.addInitializer(int64Tensor(name('axes'), axes))], { keepdims: { int: 1 } }) : add('ReduceSum', [prod], { axes: { ints: axes }, keepdims: { int: 1 } });
  let delta = add('Sub', [score, rName]);
  if (spec.threshold !== undefined) {
    const tName = g.addInitializer(floatTensor(name('threshold'), Float32Array.of(spec.threshold), []));
    const gate = add('Cast', [add('Greater', [score, tName])], { to: { int: 1 } });
    delta = add('Mul', [delta, gate]);
  }
  const shift = add('Mul', [delta, wName]);
  const subNode = makeNode('Sub', [spec.layer, shift], [corrected], name('Sub_out_node'));
  g.addNode(subNode);
  added.push(subNode.name);
  for (const c of consumers) c.input = c.input.map((i) => (i === spec.layer ? corrected : i));
  g.sortTopologically();
  g.reindex();
  return { model: copy, corrected, score, nodes: added };
}
