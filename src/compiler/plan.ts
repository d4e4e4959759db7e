/**
 * The compiler's front half, shared by `compileExplainer` and `inspectModel` so that `xsys inspect` shows exactly what
 * the compiler does: opset upgrade, canonicalisation, the explained output, the inputs relevance starts at (float
 * inputs and token embeddings), the tensors on the explained path, the units, and the composite's rule for each unit.
 */
import { create } from '@bufbuild/protobuf';
import { TensorShapeProtoSchema, type ModelProto, type NodeProto } from 'onnx-buf';
import { makeNode } from '../onnx/attributes.js';
import { int64Tensor } from '../onnx/tensor.js';
import { canonicalize, resolveExplainedOutput, type CanonicalForm, type ExplainedOutput } from '../canonicalize/index.js';
import { assignRules, type Composite, type RuleAssignment } from '../composites/index.js';
import { InvalidArgumentError, XsysError } from '../errors.js';
import { Graph } from '../ir/graph.js';
import type { ValueInfo } from '../ir/shapes.js';
import type { Unit } from '../ir/unit.js';
import { cloneModel, parseModel } from '../onnx/model.js';
import { convertToFloat32 } from '../onnx/precision.js';
import { activeTensors, neededTensors } from './analysis.js';
import { upgradeOpset } from './opset.js';
import { findTokenEmbeddings, pickTokenEmbedding, type TokenEmbedding } from './sources.js';
import { buildUnits, unitOutputs } from './units.js';
import { gateOf } from '../rules/gate-rules.js';

export interface PlanOptions {
  /** The model output to explain (default: the first). */
  output?: string;
  /** Explain the Softmax output instead of the logits before it. */
  explainProbabilities?: boolean;
  /** Token models: the integer graph input whose embedding lookup gives per-token relevance (default: found). */
  tokenInput?: string;
  /** Intermediate tensors whose relevance is also wanted (checked to exist). */
  relevanceAt?: readonly string[];
  /** The LRP composite whose rules are assigned to the units; none for the plain gradient. */
  composite?: Composite;
  /** Relevance starts at the float inputs only, never at a token embedding (CRP conditions one float input). */
  floatSourcesOnly?: boolean;
  /**
   * Throw when nothing can be explained (no float input and no token embedding, or scores that do not depend on
   * them). The compiler needs that; `inspect` reports such a model instead of refusing it. Default true.
   */
  requireExplainable?: boolean;
  /** Specialise the compiled graph to the inputs of one run (see Specialization). */
  specialize?: Specialization;
}

/**
 * What the compiled graph may assume about its inputs. `shapes`: static dims for graph inputs (then Ifs that test a
 * shape are decided and recurrent layers over a dynamic time axis are unrolled); `values`: the values of small
 * integer inputs (Silero VAD's sample rate `sr`), used wherever the graph reads them, so that an If on such a value
 * is decided at compile time. The input stays declared (the caller feeds it as before), and a graph compiled this
 * way is valid only for those shapes and values: the explain session compiles one per distinct specialisation.
 */
export interface Specialization {
  shapes?: Readonly<Record<string, readonly number[]>>;
  values?: Readonly<Record<string, readonly number[]>>;
}

/** Applies a Specialization to the graph's declared inputs (names are checked). */
export function specializeInputs(g: Graph, spec: Specialization): void {
  for (const [name, dims] of Object.entries(spec.shapes ?? {})) {
    const input = g.proto.input.find((i) => i.name === name);
    if (!input || input.type?.value.case !== 'tensorType') throw new InvalidArgumentError('specialize.shapes', `no tensor input named '${name}'`, `inputs: ${g.inputs.map((i) => i.name).join(', ')}`);
    if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new InvalidArgumentError('specialize.shapes', `dims of '${name}' must be non-negative integers (got ${JSON.stringify(dims)})`);
    input.type.value.value.shape = create(TensorShapeProtoSchema, { dim: dims.map((d) => ({ value: { case: 'dimValue' as const, value: BigInt(d) } })) });
  }
  for (const [name, vals] of Object.entries(spec.values ?? {})) {
    const input = g.proto.input.find((i) => i.name === name);
    const et = input?.type?.value.case === 'tensorType' ? input.type.value.value.elemType : 0;
    if (!input || (et !== 7 && et !== 6)) throw new InvalidArgumentError('specialize.values', `no int64 or int32 input named '${name}'`, 'only small integer inputs (a sample rate, a flag) can be bound');
    if (vals.length > 16 || !vals.every(Number.isSafeInteger)) throw new InvalidArgumentError('specialize.values', `'${name}' takes at most 16 integers`);
    const declared = input.type!.value.value as { shape?: { dim: unknown[] } };
    const dims = declared.shape && declared.shape.dim.length === 0 && vals.length === 1 ? [] : [vals.length];
    const bound = g.addInitializer(int64Tensor(g.fresh(`${name}_bound`), vals, dims));
    const cast = et === 6 ? g.fresh(`${name}_bound_int32`) : bound;
    if (et === 6) g.addNode(makeNode('Cast', [bound], [cast], g.fresh(`${name}_bound_cast`), { to: { int: 6 } }));
    for (const n of g.nodes) if (n.output[0] !== cast) n.input = n.input.map((i) => (i === name ? cast : i));
    replaceInSubgraphs(g.nodes, name, cast);
  }
  g.sortTopologically();
  g.reindex();
}

/** Outer-scope references to an input inside If/Loop/Scan bodies follow the binding too. */
function replaceInSubgraphs(nodes: readonly NodeProto[], from: string, to: string): void {
  for (const n of nodes) {
    for (const a of n.attribute) {
      for (const sub of a.g ? [a.g, ...a.graphs] : a.graphs) {
        for (const m of sub.node) m.input = m.input.map((i) => (i === from ? to : i));
        replaceInSubgraphs(sub.node, from, to);
      }
    }
  }
}

export interface CompilePlan {
  /** The canonicalised graph (a copy: the caller's model is never changed). */
  g: Graph;
  canon: CanonicalForm;
  /** Shapes and element types after canonicalisation. */
  info: Map<string, ValueInfo>;
  explained: ExplainedOutput;
  /** Float32 graph inputs: the attributions are computed for each. */
  floatInputs: string[];
  /** The token-embedding lookup relevance is read at, for token models. */
  token?: TokenEmbedding;
  /** Where relevance starts: the float inputs and the token embedding's output. */
  sources: string[];
  /** Tensors that depend on a source. */
  active: Set<string>;
  /** Active tensors the explained scores depend on. */
  needed: Set<string>;
  /** Every unit of the graph, in topological order. */
  units: Unit[];
  /** The units on the explained path (their output is needed), in topological order. */
  explainedUnits: Unit[];
  /** The first conv/dense unit on the input's path: composites may give it its own rule (e.g. flat, zβ). */
  firstLinear?: Unit;
  /** The composite's rule for each unit it matches (empty without a composite). */
  assignments: Map<Unit, RuleAssignment>;
}

export function planCompilation(model: ModelProto | Uint8Array, options: PlanOptions = {}): CompilePlan {
  const proto = model instanceof Uint8Array ? parseModel(model) : cloneModel(model);
  // Half-precision models are explained in float32 (parseModel converts already; a ModelProto given directly is not).
  convertToFloat32(proto);
  const g = new Graph(proto);
  if (options.specialize) specializeInputs(g, options.specialize);
  upgradeOpset(g);
  const canon = canonicalize(g);
  const info = canon.info;
  const explained = resolveExplainedOutput(g, options.output, options.explainProbabilities);
  // Float inputs by their declared element type (what the runtime will be fed), not by inferred shape info.
  const floatInputs = g.inputs
    .filter((i) => (i.type?.value.case === 'tensorType' ? i.type.value.value.elemType : 0) === 1)
    .map((i) => i.name);
  const token = options.floatSourcesOnly ? undefined : pickTokenEmbedding(findTokenEmbeddings(g, info), options.tokenInput);
  const strict = options.requireExplainable ?? true;
  if (strict && floatInputs.length === 0 && !token) {
    throw new XsysError(`the model has neither a float32 input nor a token-embedding lookup (inputs: ${g.inputs.map((i) => i.name).join(', ') || 'none'})`, { hint: 'attributions are computed for float inputs; for token models, relevance is read at the output of the Gather that looks up the token ids in a constant embedding table', exitCode: 3 });
  }
  // Relevance starts at the float inputs and at the token embeddings: the ids themselves are not differentiable.
  const sources = token ? [...floatInputs, token.output] : [...floatInputs];
  for (const t of options.relevanceAt ?? []) {
    if (!g.producer(t) && !g.inputs.some((i) => i.name === t)) throw new InvalidArgumentError('relevanceAt', `no tensor named '${t}' in the model`, 'use `xsys inspect` to list tensor names');
  }
  const active = activeTensors(g, info, sources);
  if (strict && !active.has(explained.scores)) throw new XsysError(`output '${explained.scores}' does not depend on the float inputs or token embeddings`, { exitCode: 3 });
  const needed = neededTensors(g, active, [explained.scores]);
  const units = buildUnits(g, canon.regions, canon.norms);
  const explainedUnits = units.filter((u) => unitOutputs(u).some((o) => needed.has(o)));
  const firstLinear = units.find((u) => u.linear && needed.has(u.linear.x) && active.has(u.linear.x));
  const assignments = options.composite ? assignRules(options.composite, explainedUnits, firstLinear) : new Map<Unit, RuleAssignment>();
  return { g, canon, info, explained, floatInputs, token, sources, active, needed, units, explainedUnits, firstLinear, assignments };
}

/**
 * The explained units relevance reaches once the composite's rules are applied. signal-take-all passes nothing to a
 * gate and stop-gradient nothing at all, so the units that only feed such operands (a squeeze-excitation gate's
 * branch, CP-LRP's queries and keys) get no relevance: the compiler emits no backward pass for them, and inspect
 * says so.
 */
export function unitsReached(plan: CompilePlan): Set<Unit> {
  const producer = new Map<string, Unit>();
  for (const u of plan.explainedUnits) for (const o of unitOutputs(u)) producer.set(o, u);
  const reached = new Set<Unit>();
  const stack = [plan.explained.scores];
  while (stack.length) {
    const u = producer.get(stack.pop()!);
    if (!u || reached.has(u)) continue;
    reached.add(u);
    const rule = plan.assignments.get(u)?.rule.name;
    if (rule === 'stop-gradient') continue;
    const cut = rule === 'signal-take-all' ? gateOf(u) : undefined;
    const inside = new Set(u.nodes.flatMap((n) => n.output));
    for (const n of u.nodes) for (const t of n.input) if (t && t !== cut && !inside.has(t) && plan.active.has(t)) stack.push(t);
  }
  return reached;
}
