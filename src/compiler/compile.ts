import { create } from '@bufbuild/protobuf';
import { ValueInfoProtoSchema, type ModelProto } from 'onnx-buf';
import { makeNode } from '../onnx/attributes.js';
import type { Dim } from '../ir/shapes.js';
import { cloneModel, parseModel, serializeModel } from '../onnx/model.js';
import { Graph } from '../ir/graph.js';
import { canonicalize, resolveExplainedOutput, type CanonReport } from '../canonicalize/index.js';
import { assignRules, namedComposite, type Composite, type RuleAssignment } from '../composites/index.js';
import { InvalidArgumentError, XsysError } from '../errors.js';
import { activeTensors, neededTensors } from './analysis.js';
import { emitBackward } from './backward.js';
import { Emitter } from './emitter.js';
import { upgradeOpset } from './opset.js';
import { buildUnits, type Unit } from './units.js';

export type BackwardKind = 'lrp' | 'gradient';

export interface CompileOptions {
  /** 'lrp' applies the composite's rules; 'gradient' the plain gradient everywhere. */
  method: BackwardKind;
  /** Composite name or object (lrp only). Default: epsilon-plus-flat. */
  composite?: string | Composite;
  /** Composite parameters, e.g. { epsilon: 1e-6, gamma: 0.25 }. */
  params?: Record<string, number>;
  /**
   * 'logit': the relevance at the scores is seed ⊙ scores (LRP convention); 'direct': the seed is used as is.
   * Default: 'logit' for lrp, 'direct' for gradient.
   */
  seedMode?: 'logit' | 'direct';
  /** The model output to explain (default: the first). */
  output?: string;
  /** Explain the Softmax output instead of the logits before it. */
  explainProbabilities?: boolean;
  /** Intermediate tensors at which the relevance/gradient is also returned. */
  relevanceAt?: string[];
}

export interface CompiledExplainer {
  model: ModelProto;
  /** The model's own inputs; the attributions are returned for each float input among them. */
  inputNames: string[];
  /** Extra input: float [batch, …scores shape] — one-hot of the target class (or any weighting). */
  seedName: string;
  /** The explained scores tensor (logits), returned as an output. */
  scoresName: string;
  /** Output name of the attribution for each float model input. */
  attributionNames: Record<string, string>;
  /** Output names for the tensors requested with relevanceAt. */
  relevanceAtNames: Record<string, string>;
  /** All graph outputs in order. */
  outputNames: string[];
  compileMs: number;
  reports: CanonReport[];
  units: Unit[];
  assignments: Map<Unit, RuleAssignment>;
  bytes(): Uint8Array;
}

export const SEED_NAME = 'xsys_seed';

/**
 * Compiles a model into an explainer: the canonicalised forward graph plus the backward pass of the method as
 * ordinary ONNX nodes, so one ONNX Runtime run returns the scores and the attributions.
 */
export function compileExplainer(model: ModelProto | Uint8Array, options: CompileOptions): CompiledExplainer {
  const t0 = performance.now();
  const proto = model instanceof Uint8Array ? parseModel(model) : cloneModel(model);
  const g = new Graph(proto);
  upgradeOpset(g);
  const canon = canonicalize(g);
  const info = canon.info;
  const explained = resolveExplainedOutput(g, options.output, options.explainProbabilities);
  const floatInputs = g.inputs.filter((i) => {
    const et = i.type?.value.case === 'tensorType' ? i.type.value.value.elemType : 0;
    return et === 1;
  });
  if (floatInputs.length === 0) {
    throw new XsysError(`the model has no float32 input (inputs: ${g.inputs.map((i) => i.name).join(', ') || 'none'})`, { hint: 'attributions are computed for float inputs; for token models, relevance is read at the embedding output', exitCode: 3 });
  }
  const inputNames = floatInputs.map((i) => i.name);
  for (const t of options.relevanceAt ?? []) {
    if (!g.producer(t) && !inputNames.includes(t)) throw new InvalidArgumentError('relevanceAt', `no tensor named '${t}' in the model`, 'use `xsys inspect` to list tensor names');
  }
  const active = activeTensors(g, info, inputNames);
  if (!active.has(explained.scores)) throw new XsysError(`output '${explained.scores}' does not depend on the float inputs`, { exitCode: 3 });
  const needed = neededTensors(g, active, [explained.scores]);
  const units = buildUnits(g, canon.regions);
  let assignments = new Map<Unit, RuleAssignment>();
  if (options.method === 'lrp') {
    const composite = typeof options.composite === 'object' ? options.composite : namedComposite(options.composite ?? 'epsilon-plus-flat', options.params);
    const firstLinear = units.find((u) => u.linear && needed.has(u.linear.x) && active.has(u.linear.x));
    assignments = assignRules(composite, units.filter((u) => needed.has(u.output)), firstLinear);
  } else if (options.composite !== undefined) {
    throw new InvalidArgumentError('--composite', `composites apply to method 'lrp' only, not '${options.method}'`);
  }

  const em = new Emitter(g);
  const seedMode = options.seedMode ?? (options.method === 'lrp' ? 'logit' : 'direct');
  g.proto.input.push(create(ValueInfoProtoSchema, { name: SEED_NAME, type: scoreType(info.get(explained.scores)?.shape) }));
  const R = seedMode === 'logit' ? em.op('Mul', [SEED_NAME, explained.scores], {}, 'seed_relevance') : SEED_NAME;
  const wanted = [...inputNames, ...(options.relevanceAt ?? [])];
  const result = emitBackward(g, info, em, { units, rules: assignments, active, needed }, [[explained.scores, R]], wanted);

  const attributionNames: Record<string, string> = {};
  const relevanceAtNames: Record<string, string> = {};
  const expose = (t: string, prefix: string): string => {
    const name = g.fresh(`${prefix}${t.replace(/[^A-Za-z0-9_]/g, '_')}`);
    const v = result.get(t);
    // A tensor the output does not depend on gets an explicit zero attribution rather than a missing output.
    g.addNode(makeNode('Identity', [v ?? em.constLike(t, 0)], [name], g.fresh(`${name}_node`)));
    g.addOutput(name);
    return name;
  };
  for (const t of inputNames) attributionNames[t] = expose(t, 'attribution_');
  for (const t of options.relevanceAt ?? []) relevanceAtNames[t] = expose(t, 'relevance_');
  if (!g.isGraphOutput(explained.scores)) g.addOutput(explained.scores);
  // value_info of the original model may disagree with shapes after canonicalisation; ORT re-infers them.
  g.proto.valueInfo = [];
  const compileMs = performance.now() - t0;
  return {
    model: proto,
    inputNames: g.inputs.filter((i) => i.name !== SEED_NAME).map((i) => i.name),
    seedName: SEED_NAME,
    scoresName: explained.scores,
    attributionNames,
    relevanceAtNames,
    outputNames: g.outputs.map((o) => o.name),
    compileMs,
    reports: canon.reports,
    units,
    assignments,
    bytes: () => serializeModel(proto),
  };
}


function scoreType(shape: Dim[] | undefined) {
  return {
    value: {
      case: 'tensorType' as const,
      value: {
        elemType: 1,
        shape: shape ? { dim: shape.map((d, i) => (typeof d === 'number' && i > 0 ? { value: { case: 'dimValue' as const, value: BigInt(d) } } : { value: { case: 'dimParam' as const, value: typeof d === 'string' ? d : `seed_dim${i}` } })) } : undefined,
      },
    },
  };
}
