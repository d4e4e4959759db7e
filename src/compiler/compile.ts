import { create } from '@bufbuild/protobuf';
import { ValueInfoProtoSchema, type ModelProto } from 'onnx-buf';
import { makeNode } from '../onnx/attributes.js';
import type { Dim } from '../ir/shapes.js';
import { serializeModel } from '../onnx/model.js';
import type { CanonReport } from '../canonicalize/index.js';
import { namedComposite, type Composite, type RuleAssignment, DEFAULT_COMPOSITE } from '../composites/index.js';
import { InvalidArgumentError } from '../errors.js';
import { emitBackward } from './backward.js';
import type { MaxPoolRouting } from '../ops/context.js';
import { placeSeedIndependentNodes } from './schedule.js';
import { rematerializeAttention } from './rematerialize.js';
import { Emitter } from '../ir/emitter.js';
import type { Unit } from './units.js';
import type { TokenEmbedding } from './sources.js';
import type { PropagationForm } from '../rules/types.js';
import { planCompilation, type Specialization } from './plan.js';

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
  /** Token models: the integer graph input whose embedding lookup gives per-token relevance (default: found). */
  tokenInput?: string;
  /**
   * How MaxPool's backward finds each window's arg-max. 'indices' (default): the forward MaxPool's `Indices` output
   * and a scatter — the faster on ONNX Runtime's CPU provider. 'compare': element-wise comparison of each window
   * offset with the pooled output — for runtimes without `Indices`, such as ONNX Runtime's WebGPU provider.
   */
  maxPoolRouting?: MaxPoolRouting;
  /** Compile for these input shapes and small integer input values only (see Specialization in plan.ts). */
  specialize?: Specialization;
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
  /**
   * Token models: the embedding lookup on the token ids, and the output [batch, tokens] holding per-token relevance
   * Σ_hidden(embedding ⊙ gradient) (gradient, Gradient × Input composites) or Σ_hidden(relevance) (relevance LRP).
   */
  token?: TokenEmbedding & { relevanceName: string };
  /**
   * What the attributions are: relevance (any LRP composite — a Gradient × Input composite's product is relevance
   * too) or a gradient (method 'gradient'). Not the propagation form, which is the composite's `form`.
   */
  attributionKind: AttributionKind;
  /** All graph outputs in order. */
  outputNames: string[];
  compileMs: number;
  reports: CanonReport[];
  units: Unit[];
  assignments: Map<Unit, RuleAssignment>;
  /** The rules the backward pass actually applied, per unit (a subset of `assignments`; what `inspect` must report). */
  appliedRules: Map<Unit, RuleAssignment>;
  bytes(): Uint8Array;
}

/**
 * A compiled explainer without the compiler's own records (units and rule maps): what running it needs, and what a
 * compilation in another thread (runtime/offload.ts) can send back.
 */
export type CompiledGraph = Omit<CompiledExplainer, 'units' | 'assignments' | 'appliedRules'>;

/** What a compiled explainer's attributions are. */
export type AttributionKind = 'relevance' | 'gradient';

export const SEED_NAME = 'xsys_seed';

/**
 * Compiles a model into an explainer: the canonicalised forward graph plus the backward pass of the method as
 * ordinary ONNX nodes, so one ONNX Runtime run returns the scores and the attributions.
 */
export function compileExplainer(model: ModelProto | Uint8Array, options: CompileOptions): CompiledExplainer {
  const t0 = performance.now();
  let composite: Composite | undefined;
  if (options.method === 'lrp') {
    composite = typeof options.composite === 'object' ? options.composite : namedComposite(options.composite ?? DEFAULT_COMPOSITE, options.params);
  } else if (options.composite !== undefined) {
    throw new InvalidArgumentError('--composite', `composites apply to method 'lrp' only, not '${options.method}'`);
  }
  const plan = planCompilation(model, { output: options.output, explainProbabilities: options.explainProbabilities, tokenInput: options.tokenInput, relevanceAt: options.relevanceAt, composite, specialize: options.specialize });
  const { g, canon, info, explained, token, sources, active, needed, units, assignments } = plan;
  const proto = g.model;
  const inputNames = plan.floatInputs;
  // How relevance propagates: the composite's form (relevance, or a modified gradient for Gradient × Input
  // composites); the plain gradient is a gradient.
  const form: PropagationForm = composite ? composite.form ?? 'relevance' : 'gradient';

  const forwardNodes = new Set(g.proto.node);
  const em = new Emitter(g);
  em.useShapeInfo(info, g.inputs.map((i) => i.name));
  // Gradient × Input composites start from the one-hot target itself, as the gradient does.
  const seedMode = options.seedMode ?? (form === 'relevance' ? 'logit' : 'direct');
  g.proto.input.push(create(ValueInfoProtoSchema, { name: SEED_NAME, type: scoreType(info.get(explained.scores)?.shape) }));
  const R = seedMode === 'logit' ? em.op('Mul', [SEED_NAME, explained.scores], {}, 'seed_relevance') : SEED_NAME;
  const wanted = [...sources, ...(options.relevanceAt ?? [])];
  const appliedRules = new Map<Unit, RuleAssignment>();
  const result = emitBackward(g, info, em, { units, rules: assignments, active, needed, form, maxPoolRouting: options.maxPoolRouting ?? 'indices', applied: appliedRules }, [[explained.scores, R]], wanted);
  // In Gradient × Input form a tensor's relevance is the tensor times its modified gradient.
  const gradientTimesInput = options.method === 'lrp' && form === 'gradient';
  const relevanceOf = (t: string): string | undefined => {
    const v = result.get(t);
    return v && gradientTimesInput ? em.mul(t, v) : v;
  };

  const attributionNames: Record<string, string> = {};
  const relevanceAtNames: Record<string, string> = {};
  const expose = (t: string, prefix: string): string => {
    const name = g.fresh(`${prefix}${t.replace(/[^A-Za-z0-9_]/g, '_')}`);
    const v = relevanceOf(t);
    // A tensor the output does not depend on gets an explicit zero attribution rather than a missing output.
    g.addNode(makeNode('Identity', [v ?? em.constLike(t, 0)], [name], g.fresh(`${name}_node`)));
    g.addOutput(name);
    return name;
  };
  for (const t of inputNames) attributionNames[t] = expose(t, 'attribution_');
  for (const t of options.relevanceAt ?? []) relevanceAtNames[t] = expose(t, 'relevance_');
  let tokenOut: CompiledExplainer['token'];
  if (token) {
    const v = result.get(token.output);
    // Per token: Σ over the hidden axis of embedding ⊙ gradient (or of the relevance, for relevance-form LRP).
    const perElement = v ? (form === 'gradient' ? em.mul(token.output, v) : v) : em.constLike(token.output, 0);
    const name = g.fresh(`token_relevance_${token.input.replace(/[^A-Za-z0-9_]/g, '_')}`);
    g.addNode(makeNode('ReduceSum', [perElement, em.ints([-1])], [name], g.fresh(`${name}_node`), { keepdims: { int: 0 } }));
    g.addOutput(name);
    tokenOut = { ...token, relevanceName: name };
  }
  if (!g.isGraphOutput(explained.scores)) g.addOutput(explained.scores);
  // value_info of the original model may disagree with shapes after canonicalisation; ORT re-infers them.
  g.proto.valueInfo = [];
  const recomputed = rematerializeAttention(g, em, forwardNodes);
  placeSeedIndependentNodes(g.proto, forwardNodes, SEED_NAME, recomputed);
  g.reindex();
  const compileMs = performance.now() - t0;
  return {
    model: proto,
    inputNames: g.inputs.filter((i) => i.name !== SEED_NAME).map((i) => i.name),
    seedName: SEED_NAME,
    scoresName: explained.scores,
    attributionNames,
    relevanceAtNames,
    token: tokenOut,
    attributionKind: options.method === 'lrp' ? 'relevance' : 'gradient',
    outputNames: g.outputs.map((o) => o.name),
    compileMs,
    reports: canon.reports,
    units,
    assignments,
    appliedRules,
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
