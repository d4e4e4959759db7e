import { create } from '@bufbuild/protobuf';
import { ValueInfoProtoSchema, type ModelProto, type NodeProto } from 'onnx-buf';
import { makeNode } from '../onnx/attributes.js';
import { serializeModel } from '../onnx/model.js';
import { Graph } from '../ir/graph.js';
import type { Dim, ValueInfo } from '../ir/shapes.js';
import { namedComposite, type Composite, DEFAULT_COMPOSITE } from '../composites/index.js';
import { InvalidArgumentError, XsysError } from '../errors.js';
import { neededTensors } from './analysis.js';
import { emitBackward, type BackwardPlan } from './backward.js';
import { Emitter } from '../ir/emitter.js';
import { planCompilation } from './plan.js';
import { placeSeedIndependentNodes } from './schedule.js';
import { SEED_NAME } from './compile.js';

/**
 * Compiles Concept Relevance Propagation (Achtibat et al. 2023) with zennit-crp's `exclude_parallel` semantics into
 * one ONNX graph: the forward pass once, LRP from the explained output down to the highest conditioned tensor, and
 * from there a backward pass batched over K conditions — the relevance at each conditioned tensor is multiplied by a
 * per-condition channel mask (a graph input [K, C]) and the next stage is seeded at the masked tensor, so relevance
 * bypassing it (skip connections, other concatenation inputs) is dropped.
 *
 * The batched stages read the forward activations tiled K times along the batch axis (condition-major), so every
 * backward op sees consistent batch sizes; the activations themselves are computed once.
 */

export interface CrpCompileOptions {
  /** Conditioned tensors, highest layer first; each must feed the one before it. */
  conditioned: readonly string[];
  /** Tensors below the lowest conditioned one whose per-channel relevance is also returned (sub-concepts). */
  record?: readonly string[];
  composite?: string | Composite;
  params?: Record<string, number>;
  /** The model output explained (default: the first). */
  output?: string;
  seedMode?: 'logit' | 'direct';
}

export interface CompiledCrp {
  model: ModelProto;
  inputName: string;
  seedName: string;
  scoresName: string;
  /** Per conditioned tensor: the mask input [K, C] (1 keeps a channel) and its channel count. */
  masks: { tensor: string; input: string; channels: number }[];
  /** Per conditioned tensor: relevance summed over space before its mask — [B, C] for the first, [K·B, C] below. */
  channelRelevance: Record<string, string>;
  /** Per recorded tensor: relevance summed over space, [K·B, C]. */
  recordRelevance: Record<string, string>;
  /** Input relevance [K·B, …input dims], condition-major. */
  heatmapName: string;
  channelsOf: Record<string, number>;
  compileMs: number;
  bytes(): Uint8Array;
}

export const CRP_MASK_PREFIX = 'xsys_crp_mask_';

/** Channel count of a tensor (axis 1), or a clear error when it has no channel axis. */
function channelCount(info: Map<string, ValueInfo>, t: string): number {
  const shape = info.get(t)?.shape;
  if (!shape) throw new InvalidArgumentError('conditions', `the shape of '${t}' is unknown, so its channels cannot be conditioned`, 'condition on a convolution or linear layer output whose shape the model declares');
  if (shape.length < 2) throw new InvalidArgumentError('conditions', `'${t}' has rank ${shape.length}: it has no channel axis (axis 1)`, 'condition on a convolution output [N, C, H, W] or a linear output [N, C]');
  const c = shape[1];
  if (typeof c !== 'number' || c < 1) throw new InvalidArgumentError('conditions', `'${t}' has no fixed channel count (axis 1 is ${String(c)})`);
  return c;
}

/** Tensors that depend on `t` (t included). */
function descendants(g: Graph, t: string): Set<string> {
  const out = new Set([t]);
  for (const n of g.nodes) if (n.input.some((i) => out.has(i))) for (const o of n.output) if (o) out.add(o);
  return out;
}

function intersect(a: Set<string>, b: Set<string>): Set<string> {
  return new Set([...a].filter((x) => b.has(x)));
}

export function compileCrp(model: ModelProto | Uint8Array, options: CrpCompileOptions): CompiledCrp {
  const t0 = performance.now();
  const conditioned = [...options.conditioned];
  const record = [...(options.record ?? [])];
  if (conditioned.length === 0) throw new InvalidArgumentError('conditions', 'at least one conditioned tensor is needed');
  if (new Set(conditioned).size !== conditioned.length) throw new InvalidArgumentError('conditions', 'a tensor is conditioned twice');
  // The compiler's front half, shared with compileExplainer and inspect: the same canonical graph, units and rules.
  const composite = typeof options.composite === 'object' ? options.composite : namedComposite(options.composite ?? DEFAULT_COMPOSITE, options.params);
  const front = planCompilation(model, { output: options.output, composite, floatSourcesOnly: true, requireExplainable: false });
  const { g, info, explained, active, needed, units, assignments: rules } = front;
  const proto = g.model;
  if (front.floatInputs.length !== 1) throw new XsysError(`CRP needs a model with exactly one float32 input; this one has ${front.floatInputs.length}`, { exitCode: 3 });
  const inputName = front.floatInputs[0]!;
  for (const t of [...conditioned, ...record]) {
    if (!g.producer(t)) throw new InvalidArgumentError('conditions', `no tensor named '${t}' in the model`, 'use `xsys inspect` or `xsys concepts layers` to list tensor names (condition on a node output, not a weight)');
    if (!needed.has(t)) throw new InvalidArgumentError('conditions', `the explained output '${explained.scores}' does not depend on '${t}'`);
  }
  // Each lower tensor must feed the one above it, otherwise "continue to the next" has nothing to propagate.
  const ancestorsOf = (t: string) => neededTensors(g, active, [t]);
  for (let j = 1; j < conditioned.length; j++) {
    if (!ancestorsOf(conditioned[j - 1]!).has(conditioned[j]!) || conditioned[j] === conditioned[j - 1]) {
      throw new InvalidArgumentError('conditions', `'${conditioned[j]}' does not feed '${conditioned[j - 1]}'`, 'list the conditioned layers from the highest (nearest the output) to the lowest');
    }
  }
  const lowest = conditioned[conditioned.length - 1]!;
  const lowAnc = ancestorsOf(lowest);
  for (const r of record) {
    if (r === lowest || !lowAnc.has(r)) throw new InvalidArgumentError('record', `'${r}' is not below the lowest conditioned tensor '${lowest}'`);
  }
  const channelsOf: Record<string, number> = {};
  for (const t of [...conditioned, ...record]) channelsOf[t] = channelCount(info, t);

  const form = composite.form ?? 'relevance';

  const forwardNodes = new Set(g.proto.node);
  const em = new Emitter(g);
  em.useShapeInfo(info, [inputName]);
  g.proto.input.push(create(ValueInfoProtoSchema, { name: SEED_NAME, type: tensorType(info.get(explained.scores)?.shape ?? [], 'batch') }));
  const masks = conditioned.map((t) => {
    const input = g.fresh(`${CRP_MASK_PREFIX}${conditioned.indexOf(t)}`);
    g.proto.input.push(create(ValueInfoProtoSchema, { name: input, type: tensorType(['conditions', channelsOf[t]!], 'conditions') }));
    return { tensor: t, input, channels: channelsOf[t]! };
  });
  const seedMode = options.seedMode ?? (form === 'relevance' ? 'logit' : 'direct');
  const R = seedMode === 'logit' ? em.op('Mul', [SEED_NAME, explained.scores], {}, 'seed_relevance') : SEED_NAME;
  // Gradient × Input composites propagate a modified gradient; a tensor's relevance is the tensor times it.
  const relevance = (t: string, v: string, tiledT?: string) => (form === 'gradient' ? em.mul(tiledT ?? t, v) : v);
  const channelSum = (v: string, t: string) => {
    const rank = info.get(t)!.shape!.length;
    return rank > 2 ? em.op('ReduceSum', [v, em.ints(Array.from({ length: rank - 2 }, (_, k) => k + 2))], { keepdims: { int: 0 } }, 'crp_channel_sum') : v;
  };
  // Stage 0 may read MaxPool's Indices (batch B); the batched stages route by comparison, which tiles like any
  // activation (Indices hold flat positions into the untiled batch).
  const plan = (neededHere: Set<string>, batched: boolean): BackwardPlan => ({ units, rules, active, needed: neededHere, form, maxPoolRouting: batched ? 'compare' : 'indices' });
  const orThrow = (v: string | undefined, t: string): string => {
    if (!v) throw new XsysError(`no relevance reaches '${t}' from the explained output`, { exitCode: 3 });
    return v;
  };

  // Stage 0: the ordinary backward pass from the output, restricted to what passes through the highest tensor.
  const top = conditioned[0]!;
  const stage0 = emitBackward(g, info, em, plan(intersect(needed, descendants(g, top)), false), [[explained.scores, R]], [top]);
  const R0 = orThrow(stage0.get(top), top);
  const outputs: string[] = [];
  const channelRelevance: Record<string, string> = {};
  const recordRelevance: Record<string, string> = {};
  const expose = (v: string, base: string): string => {
    const name = g.fresh(base);
    g.addNode(makeNode('Identity', [v], [name], g.fresh(`${name}_node`)));
    outputs.push(name);
    return name;
  };
  channelRelevance[top] = expose(channelSum(relevance(top, R0), top), `crp_channel_relevance_0`);

  // Condition-major batch: row k·B + b is condition k of sample b.
  const B = em.op('Shape', [inputName], { start: { int: 0 }, end: { int: 1 } }, 'crp_batch');
  const K = em.op('Shape', [masks[0]!.input], { start: { int: 0 }, end: { int: 1 } }, 'crp_conditions');
  const rankOf = (t: string): number => {
    const r = info.get(t)?.shape?.length;
    if (r === undefined) throw new XsysError(`CRP: the rank of '${t}' is unknown, so it cannot be tiled over the conditions`, { exitCode: 3 });
    return r;
  };
  const tileReps = new Map<number, string>();
  const repsFor = (rank: number) => {
    let r = tileReps.get(rank);
    if (!r) {
      r = rank === 1 ? K : em.op('Concat', [K, em.ints(new Array<number>(rank - 1).fill(1))], { axis: { int: 0 } }, 'crp_reps');
      tileReps.set(rank, r);
    }
    return r;
  };
  const tile = (t: string, rank = rankOf(t)) => em.op('Tile', [t, repsFor(rank)], {}, 'crp_tile');
  const maskFor = (j: number): string => {
    const { input, channels, tensor } = masks[j]!;
    const rank = rankOf(tensor);
    const kb = em.op('Expand', [em.op('Unsqueeze', [input, em.ints([1])]), em.op('Concat', [K, B, em.ints([channels])], { axis: { int: 0 } })], {}, 'crp_mask_kb');
    return em.op('Reshape', [kb, em.ints([-1, channels, ...new Array<number>(rank - 2).fill(1)])], {}, 'crp_mask');
  };
  let seedAt = top;
  let seed = em.mul(tile(R0, rankOf(top)), maskFor(0));

  // Stages 1…m: seeded at the masked tensor. A separate emitter without compile-time shapes, so every shape these
  // nodes read comes from a (tiled) tensor at run time and carries the K·B batch.
  const em2 = new Emitter(g, 'xsys_crp');
  const batchedSeeds = new Set<string>();
  const stages: { from: string; to: string[] }[] = [];
  for (let j = 1; j <= conditioned.length; j++) stages.push({ from: conditioned[j - 1]!, to: j < conditioned.length ? [conditioned[j]!] : [inputName, ...record] });
  const pending: { tensor: string; v: string; kind: 'cond' | 'record' | 'heatmap'; j: number }[] = [];
  for (let s = 0; s < stages.length; s++) {
    const { from, to } = stages[s]!;
    batchedSeeds.add(seed);
    const isLast = s === stages.length - 1;
    const region = isLast ? ancestorsOf(from) : intersect(ancestorsOf(from), descendants(g, to[0]!));
    const got = emitBackward(g, info, em2, plan(region, true), [[seedAt, seed]], to);
    if (!isLast) {
      const next = to[0]!;
      const v = orThrow(got.get(next), next);
      pending.push({ tensor: next, v, kind: 'cond', j: s + 1 });
      seedAt = next;
      // The mask is applied to the propagated quantity; per channel it commutes with Gradient × Input's x ⊙ g.
      seed = em.mul(v, maskFor(s + 1));
    } else {
      pending.push({ tensor: inputName, v: orThrow(got.get(inputName), inputName), kind: 'heatmap', j: 0 });
      for (const r of record) pending.push({ tensor: r, v: orThrow(got.get(r), r), kind: 'record', j: 0 });
    }
  }

  // Forward tensors read by the batched stages (and by the outputs below) are tiled to K·B rows.
  const tiled = new Map<string, string>();
  const forwardProduced = new Set<string>([inputName]);
  for (const n of forwardNodes) for (const o of n.output) if (o) forwardProduced.add(o);
  const tiledOf = (t: string, where: string): string => {
    let v = tiled.get(t);
    if (!v) {
      if (!active.has(t)) throw new XsysError(`CRP: the backward pass below the conditioned layers reads '${t}' (${where}), which has no batch axis to tile`, { exitCode: 3 });
      v = tile(t);
      tiled.set(t, v);
    }
    return v;
  };
  const batchedNodes: NodeProto[] = [...em2.created];
  for (const n of batchedNodes) {
    n.input = n.input.map((i) => (i && forwardProduced.has(i) && !g.isConstant(i) && isFloatOrUnknown(info, i) ? tiledOf(i, n.opType) : i));
  }
  for (const p of pending) {
    const rel = form === 'gradient' ? em.mul(tiledOf(p.tensor, 'output'), p.v) : p.v;
    if (p.kind === 'heatmap') continue;
    const out = expose(channelSum(rel, p.tensor), p.kind === 'cond' ? `crp_channel_relevance_${p.j}` : `crp_record_relevance`);
    if (p.kind === 'cond') channelRelevance[p.tensor] = out;
    else recordRelevance[p.tensor] = out;
  }
  const hm = pending.find((p) => p.kind === 'heatmap')!;
  const heatmapName = expose(form === 'gradient' ? em.mul(tiledOf(inputName, 'heatmap'), hm.v) : hm.v, 'crp_heatmap');
  for (const o of outputs) g.addOutput(o);
  if (!g.isGraphOutput(explained.scores)) g.addOutput(explained.scores);
  g.proto.valueInfo = [];
  g.sortTopologically();
  placeSeedIndependentNodes(g.proto, forwardNodes, SEED_NAME);
  g.reindex();
  return {
    model: proto,
    inputName,
    seedName: SEED_NAME,
    scoresName: explained.scores,
    masks,
    channelRelevance,
    recordRelevance,
    heatmapName,
    channelsOf,
    compileMs: performance.now() - t0,
    bytes: () => serializeModel(proto),
  };
}

function isFloatOrUnknown(info: Map<string, ValueInfo>, t: string): boolean {
  const et = info.get(t)?.elemType ?? 0;
  return et === 0 || et === 1 || et === 10 || et === 11 || et === 16;
}

function tensorType(shape: readonly Dim[], batchParam: string) {
  return {
    value: {
      case: 'tensorType' as const,
      value: {
        elemType: 1,
        shape: {
          dim: shape.map((d, i) =>
            typeof d === 'number' && i > 0 ? { value: { case: 'dimValue' as const, value: BigInt(d) } } : { value: { case: 'dimParam' as const, value: typeof d === 'string' && i > 0 ? d : i === 0 ? batchParam : `crp_dim${i}` } },
          ),
        },
      },
    },
  };
}
