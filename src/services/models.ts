/**
 * Model services of the workbench: validating and registering uploaded ONNX models (content-addressed, so the same
 * bytes uploaded concurrently become one record), describing them, and keeping one prepared ModelExplainer per model
 * so compiled explainers and ONNX Runtime sessions are reused across requests.
 */
import type { Inspection } from '../compiler/inspect.js';
import { COMPOSITE_CHOICES, DEFAULT_COMPOSITE } from '../composites/index.js';
import { XsysError } from '../errors.js';
import { parseModel, serializeModel } from '../onnx/model.js';
import { ModelExplainer } from '../methods/explainer.js';
import { checkModelOffThread, compileCrpOffThread, compileOffThread, inspectOffThread } from './offload.js';
import type { ModelProto } from 'onnx-buf';
import type { CompileOptions } from '../compiler/compile.js';
import type { CrpCompileOptions } from '../compiler/crp.js';
import { CrpExplainer } from '../concepts/crp.js';
import { workerRuntime } from '../runtime/worker-runtime.js';
import { MultiInputExplainer } from '../methods/multi-input.js';
import { sha256Hex } from '../store/artefact-files.js';
import type { ModelRecord, Preprocess, Store, TensorSpec } from '../store/types.js';
import { HttpProblem, notFound } from './problem.js';
import { layoutFromShape } from '../io/layout.js';

const DTYPES: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };

export interface ModelDetail extends ModelRecord {
  opHistogram: Record<string, number>;
  composite: string;
  nodes: { name: string; opType: string; rule?: string }[];
  unsupported: { node: string; opType: string; hint: string }[];
}

/** Throws a 400 unless `name` is one of the built-in composites (a composite may otherwise name a JSON file to read). */
export function checkComposite(name: string): string {
  if (!COMPOSITE_CHOICES.includes(name)) throw new HttpProblem(400, 'invalid-argument', 'Invalid argument', `composite: unknown composite '${name}'`, `composites: ${COMPOSITE_CHOICES.join(', ')}`);
  return name;
}

function specs(list: Inspection['inputs'] | Inspection['outputs']): TensorSpec[] {
  return list.map((t) => ({
    name: t.name,
    dtype: 'elemType' in t ? (DTYPES[t.elemType] ?? `type-${t.elemType}`) : 'float32',
    shape: (t.shape ?? []).map((d) => (d === null ? '?' : d)),
  }));
}

/** Default image preprocessing read off the input shape: [N, C, H, W] → size H×W, greyscale when C = 1; channels last (layoutFromShape) → layout 'nhwc'. */
export function preprocessFromShape(shape: (number | string)[]): Preprocess {
  const layout = layoutFromShape(shape);
  if (!layout) return {};
  const [, a, b, last] = shape;
  const [c, h, w] = layout === 'nhwc' ? [last, a, b] : [a, b, last];
  return {
    ...(typeof h === 'number' && typeof w === 'number' ? { size: [h, w] as [number, number] } : {}),
    ...(c === 1 ? { grayscale: true } : {}),
    ...(layout === 'nhwc' ? { layout } : {}),
  };
}

export class ModelService {
  private readonly explainers = new Map<string, Promise<ModelExplainer>>();
  private readonly feedExplainers = new Map<string, Promise<MultiInputExplainer>>();
  private readonly inflight = new Map<string, Promise<{ record: ModelRecord; created: boolean }>>();
  private readonly inspections = new Map<string, Promise<Inspection>>();
  /** ONNX Runtime in a worker thread: loading a compiled explainer and running it never stall the event loop. */
  private readonly runtime: ReturnType<typeof workerRuntime>;

  constructor(
    private readonly store: Store,
    /** How many models keep a prepared explainer (compiled graphs + sessions) in memory. */
    private readonly maxLoaded = 8,
    /** ONNX Runtime intra-op threads per run (undefined: ORT's default, all cores). */
    private readonly threads?: number,
  ) {
    this.runtime = workerRuntime(threads);
  }

  /** Ends the ONNX Runtime worker thread (server shutdown). */
  close(): Promise<void> {
    return this.runtime.close();
  }

  /** Validates and stores ONNX bytes. `created` is false when a model with these bytes already exists. */
  register(bytes: Uint8Array, name: string, preprocess?: Preprocess): Promise<{ record: ModelRecord; created: boolean }> {
    const id = sha256Hex(bytes);
    let p = this.inflight.get(id);
    if (!p) {
      p = this.registerOnce(id, bytes, name, preprocess).finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
      return p;
    }
    // A concurrent upload of the same bytes: one record, and this caller did not create it.
    return p.then((r) => ({ record: r.record, created: false }));
  }

  private async registerOnce(id: string, bytes: Uint8Array, name: string, preprocess?: Preprocess): Promise<{ record: ModelRecord; created: boolean }> {
    const existing = await this.store.models.get(id);
    if (existing) return { record: existing, created: false };
    let info: Inspection;
    try {
      // In a worker thread (a huge or slow model must not stall the server): the reader's checks, the compiler's own
      // analysis (canonicalisation, shape inference, rule assignment), what explaining needs, and an ONNX Runtime
      // session. A model any of them refuses cannot be explained, so it is refused before anything is stored.
      info = await checkModelOffThread(bytes, name);
    } catch (err) {
      if (err instanceof XsysError) throw err;
      throw new HttpProblem(422, 'unsupported-model', 'Unsupported model', `${name}: the compiler cannot analyse this model: ${(err as Error).message}`, 'the model may use an operator or structure xsys does not support; the command line (xsys inspect) lists what it finds');
    }
    this.inspections.set(`${id}|${DEFAULT_COMPOSITE}`, Promise.resolve(info));
    const inputs = specs(info.inputs);
    const record: ModelRecord = {
      id,
      name,
      bytes: bytes.length,
      inputs,
      outputs: specs(info.outputs),
      opset: info.opset,
      preprocess: preprocess ?? preprocessFromShape(inputs.find((i) => i.dtype === 'float32')?.shape ?? []),
      createdAt: new Date().toISOString(),
    };
    await this.store.artefacts.put(bytes, 'application/octet-stream');
    return this.store.models.put(record);
  }

  async get(id: string): Promise<ModelRecord> {
    const m = await this.store.models.get(id);
    if (!m) throw notFound(`no model with id ${id}`, 'list models with GET /api/models');
    return m;
  }

  async bytes(id: string): Promise<Uint8Array> {
    await this.get(id);
    const a = await this.store.artefacts.get(id);
    if (!a) throw notFound(`the ONNX file of model ${id} is missing from the store`);
    return a.bytes;
  }

  async detail(id: string, composite = DEFAULT_COMPOSITE): Promise<ModelDetail> {
    const record = await this.get(id);
    const info = await this.inspection(id, checkComposite(composite));
    return {
      ...record,
      opHistogram: info.ops,
      composite: info.composite,
      nodes: info.units.map((u) => ({ name: u.name, opType: u.op, rule: u.rule })),
      unsupported: info.unsupported.map((u) => ({ node: u.node, opType: u.op, hint: u.hint })),
    };
  }

  /** The compiler's inspection of a stored model under a composite, computed in a worker thread once and kept. */
  private inspection(id: string, composite: string): Promise<Inspection> {
    const key = `${id}|${composite}`;
    let p = this.inspections.get(key);
    if (!p) {
      p = this.bytes(id).then((b) => inspectOffThread(b, id, composite));
      this.inspections.set(key, p);
      p.catch(() => this.inspections.delete(key));
      while (this.inspections.size > 8 * this.maxLoaded) this.inspections.delete(this.inspections.keys().next().value!);
    }
    return p;
  }

  /**
   * Where a stored model's ONNX Runtime work and compilation happen: the worker-thread runtime (one thread holds every
   * session) and one worker per compile (explainers and CRP graphs), never the event loop.
   */
  private offThread(b: Uint8Array, id: string, stored: ModelProto) {
    // The stored bytes for the model itself; a model derived from it (a region's sum, compiler/region.ts) is sent.
    const bytesOf = (m: ModelProto) => (m === stored ? b : serializeModel(m));
    return {
      runtime: this.runtime,
      compile: (m: ModelProto, options: CompileOptions) => compileOffThread(bytesOf(m), id, options),
      compileCrp: (m: ModelProto, options: CrpCompileOptions) => compileCrpOffThread(bytesOf(m), id, options),
    };
  }

  /** The CRP face of a model's prepared explainer (same session, runtime and caches): concept analyses. */
  async crp(id: string): Promise<CrpExplainer> {
    return CrpExplainer.of(await this.explainer(id));
  }

  /** The prepared explainer of a model (loaded on first use, least recently used ones are dropped). */
  explainer(id: string): Promise<ModelExplainer> {
    let p = this.explainers.get(id);
    if (p) {
      this.explainers.delete(id);
      this.explainers.set(id, p);
      return p;
    }
    // Explainers are compiled in a worker thread from the stored bytes (the model's first compile may take seconds).
    p = this.bytes(id).then((b) => {
      const m = parseModel(b, id);
      return ModelExplainer.load(m, this.offThread(b, id, m));
    });
    this.explainers.set(id, p);
    p.catch(() => this.explainers.delete(id));
    while (this.explainers.size > this.maxLoaded) this.explainers.delete(this.explainers.keys().next().value!);
    return p;
  }

  /** The prepared explainer of a model with named inputs (token ids, masks, several tensors), as for text models. */
  feeds(id: string): Promise<MultiInputExplainer> {
    let p = this.feedExplainers.get(id);
    if (p) return p;
    p = this.bytes(id).then((b) => {
      const m = parseModel(b, id);
      return MultiInputExplainer.load(m, this.offThread(b, id, m));
    });
    this.feedExplainers.set(id, p);
    p.catch(() => this.feedExplainers.delete(id));
    while (this.feedExplainers.size > this.maxLoaded) this.feedExplainers.delete(this.feedExplainers.keys().next().value!);
    return p;
  }

  /** Stores settings with a model: its image preprocessing, or the sha256 of its tokenizer.json artefact. */
  async update(id: string, patch: { preprocess?: Preprocess; tokenizer?: string }): Promise<ModelRecord> {
    const m = await this.store.models.update(id, patch);
    if (!m) throw notFound(`no model with id ${id}`, 'list models with GET /api/models');
    return m;
  }

  async delete(id: string): Promise<void> {
    if (!(await this.store.models.delete(id))) throw notFound(`no model with id ${id}`);
    this.explainers.delete(id);
    for (const k of [...this.inspections.keys()]) if (k.startsWith(`${id}|`)) this.inspections.delete(k);
    this.feedExplainers.delete(id);
  }
}
