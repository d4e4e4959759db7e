/**
 * Explanation services of the workbench: resolves a request's input (dataset sample, uploaded image or .npy) to the
 * model's input tensor, runs the library's `explain`, renders the heatmap, and stores the result with its artefacts
 * and provenance. `reproduce` recomputes a stored result from its record alone and reports the difference.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { InvalidArgumentError, XsysError } from '../errors.js';
import { loadImage } from '../io/image.js';
import { layoutFromShape, sampleToChw, toNhwc } from '../io/layout.js';
import { encodeNpy, parseNpy, toFloat32 } from '../io/npy.js';
import { defaultCamLayer, explain } from '../methods/explain.js';
import type { LimitOverrides } from '../methods/limits.js';
import type { ModelExplainer } from '../methods/explainer.js';
import { getMethod, METHOD_NAMES, type MethodName } from '../methods/registry.js';
import { encodePng } from '../render/png.js';
import type { Tensor } from '../runtime/tensor.js';
import { sha256Hex } from '../store/artefact-files.js';
import { newId } from '../store/ids.js';
import type { MethodSpec } from '../methods/types.js';
import type { InputRecord, InputSource, ModelRecord, Preprocess, ResultRecord, Store } from '../store/types.js';
import { ORT_VERSION, VERSION } from '../version.js';
import type { DatasetRegistry } from './datasets.js';
import { heatmapPng } from './heatmap-png.js';
import { DEFAULT_COMPOSITE } from '../composites/index.js';
import { Limiter } from './limiter.js';
import { checkComposite, type ModelService } from './models.js';
import { completeParams, splitParams } from './params.js';
import { HttpProblem, notFound } from './problem.js';
import { softmaxTopk } from './topk.js';

export type InputSpec = { kind: 'image'; png: string; name?: string } | { kind: 'npy'; npy: string; name?: string } | { kind: 'sample'; dataset: string; index: number };

export interface ExplainRequest extends MethodSpec {
  modelId: string;
  input: InputSpec;
  preprocess?: Preprocess;
  target?: number | 'pred';
}

export type ExplainResult = ResultRecord;

interface ResolvedInput {
  tensor: Tensor;
  record: InputRecord;
  /** What the user picked (a dataset sample, a named file), for provenance and History's labels. */
  source: InputSource;
}

const NPY = 'application/x-npy';
const PNG = 'image/png';

/** The error with a private scratch path (and its directory) replaced by the name the client knows. */
function withoutPath(e: XsysError, path: string, name: string): XsysError {
  e.message = e.message.split(path).join(name).split(dirname(path)).join('(upload)');
  return e;
}

function decodeBase64(what: string, text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(text)) throw new InvalidArgumentError(what, 'is not base64');
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** One explanation, computed but not stored: what a queue worker sends back and what the server stores. */
export interface ExplainedSample {
  method: MethodName;
  composite: string | null;
  params: Record<string, number | string>;
  /** The class explained (resolved). */
  target: number;
  attributionNpy: Uint8Array;
  heatmapPng?: Uint8Array;
  relevanceSum: number;
  topk: { class: number; score: number; prob: number }[];
  compileMs: number;
  runMs: number;
}

/**
 * Explains one input tensor with one method: attribution (.npy bytes), heatmap PNG, relevance sum and the top
 * classes. Pure computation, no store: the server and queue workers run exactly this, so their bytes are identical.
 */
export async function explainSample(mx: ModelExplainer, tensor: Tensor, spec: MethodSpec, target: number | 'pred', limits: LimitOverrides = {}): Promise<ExplainedSample> {
  if (!METHOD_NAMES.includes(spec.method as MethodName)) throw new InvalidArgumentError('method', `unknown method '${spec.method}'`, `methods: ${METHOD_NAMES.join(', ')}`);
  const method = spec.method as MethodName;
  const composite = getMethod(method).composite ? checkComposite(spec.composite ?? DEFAULT_COMPOSITE) : null;
  // Every parameter, defaults filled in (Grad-CAM's layer too): provenance says exactly what produced the result.
  const params = completeParams(method, composite, spec.params ?? {}, limits);
  if (method === 'grad-cam' && params.layer === undefined) params.layer = defaultCamLayer(mx.model);
  const { numeric, layer, conditions } = splitParams(params);
  const tRun = performance.now();
  const e = await explain(mx, tensor, { method, composite: composite ?? undefined, params: numeric, target, layer, conditions, limits, ...(spec.region ? { region: spec.region } : {}) });
  const runMs = performance.now() - tRun;
  const a = e.attribution;
  // A channels-last model's attribution is [1, H, W, C]: drawn from [C, H, W] (read as is it would be a sliver).
  const plane = sampleToChw(a.data, a.dims.slice(1), layoutFromShape(mx.inputShape));
  const png = plane.dims.length === 2 || plane.dims.length === 3 ? await heatmapPng(plane.data, plane.dims, 'bwr') : undefined;
  let relevanceSum = 0;
  for (const v of a.data) relevanceSum += v;
  return {
    method,
    composite,
    params,
    target: e.targets[0]!,
    attributionNpy: encodeNpy(a.data, a.dims),
    ...(png ? { heatmapPng: png } : {}),
    relevanceSum,
    topk: softmaxTopk(e.scores.data),
    compileMs: e.timing.compileMs + e.timing.sessionMs,
    runMs,
  };
}

/**
 * What identifies a request for deduplication: model, input tensor, method, composite, every parameter with its
 * default filled in (so asking with and without the defaults spelled out is the same request) and the asked target.
 */
function requestKey(modelId: string, inputId: string, spec: MethodSpec, target: number | 'pred', mx: ModelExplainer, limits: LimitOverrides): unknown[] {
  const method = getMethod(spec.method, 'method').name;
  const composite = getMethod(method).composite ? checkComposite(spec.composite ?? DEFAULT_COMPOSITE) : null;
  const params = completeParams(method, composite, spec.params ?? {}, limits);
  if (method === 'grad-cam' && params.layer === undefined) params.layer = defaultCamLayer(mx.model);
  return [modelId, inputId, method, composite, params, target, ...(spec.region ? [spec.region] : [])];
}

export class ExplainService {
  /** (dataset, index) → the stored input of a sample, so repeated explanations of a sample hash nothing. */
  private readonly samples = new Map<string, Promise<ResolvedInput>>();
  /** Method/composite combinations a model has compiled already, to report compile time honestly (0 when cached). */
  private readonly compiledKeys = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly models: ModelService,
    private readonly datasets: DatasetRegistry,
    private readonly scratchDir: string = tmpdir(),
    /** Explanations computed at the same time (see limiter.ts); default 4 × the number of cores. */
    concurrency: number = 4 * availableParallelism(),
    /** Maxima of method parameters and inputs raised or lowered by the server's options (src/methods/limits.ts). */
    readonly limits: LimitOverrides = {},
  ) {
    this.limiter = new Limiter(Math.max(1, concurrency));
  }

  private readonly limiter: Limiter;

  private sampleInput(dataset: string, index: number): Promise<ResolvedInput> {
    const key = `${dataset}\u0000${index}`;
    let p = this.samples.get(key);
    if (!p) {
      p = (async () => {
        const tensor = this.datasets.sample(dataset, index);
        const npy = encodeNpy(tensor.data, tensor.dims);
        const id = await this.store.artefacts.put(npy, NPY);
        const displaySha256 = await this.datasets.png(dataset, index).then(
          (png) => this.store.artefacts.put(png, PNG),
          () => undefined,
        );
        const record: InputRecord = { id, dims: tensor.dims, source: { kind: 'sample', dataset, index }, ...(displaySha256 ? { displaySha256 } : {}), createdAt: new Date().toISOString() };
        return { tensor, record, source: { kind: 'sample' as const, dataset, index } };
      })();
      this.samples.set(key, p);
      p.catch(() => this.samples.delete(key));
    }
    return p;
  }

  async resolveInput(model: ModelRecord, mx: ModelExplainer, spec: InputSpec, preprocess?: Preprocess): Promise<ResolvedInput> {
    if (spec.kind === 'sample') return this.sampleInput(spec.dataset, spec.index);
    let tensor: Tensor;
    let source: InputRecord['source'];
    let displaySha256: string | undefined;
    if (spec.kind === 'npy') {
      const a = parseNpy(decodeBase64('input.npy', spec.npy), 'input.npy');
      const rank = mx.inputShape?.length;
      const dims = rank !== undefined && a.shape.length === rank - 1 ? [1, ...a.shape] : a.shape;
      if (dims.length === 0) throw new InvalidArgumentError('input.npy', 'holds a single number (shape []), not a sample', `send one sample with its batch axis${mx.inputShape ? `, shape [${mx.inputShape.map((d) => (typeof d === 'number' ? d : 1)).join(', ')}]` : ''}`);
      if (dims[0] !== 1) throw new InvalidArgumentError('input.npy', `holds a batch of ${dims[0]}; send one sample per request`, 'explain datasets with a job (POST /api/jobs)');
      tensor = { data: toFloat32(a), dims };
      source = { kind: 'npy' };
    } else {
      const bytes = decodeBase64('input.png', spec.png);
      const pre: Preprocess = { ...(model.preprocess ?? {}), ...(preprocess ?? {}) };
      // loadImage reads files (it is the CLI's loader); a private scratch file keeps server and CLI tensors identical.
      const dir = await mkdtemp(join(this.scratchDir, 'xsys-upload-'));
      try {
        const path = join(dir, 'input.png');
        await writeFile(path, bytes);
        const img = await loadImage(path, { size: pre.size, grayscale: pre.grayscale, mean: pre.mean, std: pre.std, channelOrder: pre.channelOrder }).catch((e: unknown) => {
          // The scratch path is the server's business: errors name the upload as the client sent it.
          throw e instanceof XsysError ? withoutPath(e, path, 'input.png') : e;
        });
        tensor = pre.layout === 'nhwc' ? toNhwc(img.tensor, img.shape) : { data: img.tensor, dims: [...img.shape] };
        displaySha256 = await this.store.artefacts.put(await encodePng(img.display), PNG);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      // The upload as given, for provenance only: stored as opaque bytes (it may be any format sharp reads, SVG
      // included, and must never be served to a browser as something it would render or run).
      source = { kind: 'image', imageSha256: await this.store.artefacts.put(bytes, 'application/octet-stream'), preprocess: pre };
    }
    mx.validate(tensor);
    const id = await this.store.artefacts.put(encodeNpy(tensor.data, tensor.dims), NPY);
    const label: InputSource = { kind: spec.kind, ...(spec.name ? { name: spec.name } : {}) };
    return { tensor, record: { id, dims: tensor.dims, source, ...(displaySha256 ? { displaySha256 } : {}), createdAt: new Date().toISOString() }, source: label };
  }

  /** Explains one input with one method and stores the result. `job` ties the result to a job's progress. */
  async explain(req: ExplainRequest, job?: { id: string; progress: { done: number; total: number } }, resolved?: ResolvedInput): Promise<ExplainResult> {
    const t0 = performance.now();
    const model = await this.models.get(req.modelId);
    const mx = await this.models.explainer(req.modelId);
    const input = resolved ?? (await this.resolveInput(model, mx, req.input, req.preprocess));
    return this.compute(model, mx, input, req, req.target ?? 'pred', t0, job);
  }

  /** One input, several methods (the compare view): the input is resolved once. */
  async compare(req: Omit<ExplainRequest, 'method'>, methods: MethodSpec[]): Promise<ExplainResult[]> {
    const model = await this.models.get(req.modelId);
    const mx = await this.models.explainer(req.modelId);
    const input = await this.resolveInput(model, mx, req.input, req.preprocess);
    const out: ExplainResult[] = [];
    for (const m of methods) out.push(await this.compute(model, mx, input, { ...req, ...m }, req.target ?? 'pred', performance.now()));
    return out;
  }

  private async compute(model: ModelRecord, mx: ModelExplainer, input: ResolvedInput, spec: MethodSpec, target: number | 'pred', t0: number, job?: { id: string; progress: { done: number; total: number } }, reproducedFrom?: string): Promise<ExplainResult> {
    // The same model, input, method, parameters (defaults filled in) and asked target are the same record: History
    // keeps one, with a count. Job results are not deduplicated (a job owns its results).
    const request = job ? undefined : requestKey(model.id, input.record.id, spec, target, mx, this.limits);
    const dedupKey = request && sha256Hex(new TextEncoder().encode(JSON.stringify([...request, reproducedFrom ?? null])));
    if (dedupKey && !reproducedFrom) {
      const seen = await this.store.results.findByKey(dedupKey);
      const again = seen && (await this.store.results.repeat(seen.id));
      if (again) return again;
    }
    const key = `${model.id}|${spec.method}|${spec.composite ?? ''}|${JSON.stringify(spec.params ?? {})}|${JSON.stringify(spec.region ?? null)}`;
    const cached = this.compiledKeys.has(key);
    const explained = await this.limiter.run(() => explainSample(mx, input.tensor, spec, target, this.limits));
    this.compiledKeys.add(key);
    const { result } = await this.recordOf(model, input.record, spec, target, explained, { cached, t0, jobId: job?.id, reproducedFrom, inputSource: input.source, dedupKey });
    if (dedupKey && reproducedFrom) {
      // Reproducing again with the same numbers counts on the earlier reproduction instead of adding a copy.
      const seen = await this.store.results.findByKey(dedupKey);
      const again = seen && seen.artefacts.attribution === result.artefacts.attribution ? await this.store.results.repeat(seen.id) : undefined;
      if (again) return again;
    }
    await this.store.saveResult(result, input.record, job);
    return result;
  }

  /**
   * Stores an explanation's artefacts and builds its result record (not yet saved: the caller commits it, alone or
   * with a shard). Used for explanations computed here and for those delivered by queue workers.
   */
  async recordOf(
    model: ModelRecord,
    input: InputRecord,
    spec: MethodSpec,
    target: number | 'pred',
    e: ExplainedSample,
    options: { cached: boolean; t0?: number; jobId?: string; reproducedFrom?: string; inputSource?: InputSource; dedupKey?: string },
  ): Promise<{ result: ResultRecord; input: InputRecord }> {
    const attribution = await this.store.artefacts.put(e.attributionNpy, NPY);
    const heatmap = e.heatmapPng ? await this.store.artefacts.put(e.heatmapPng, PNG) : null;
    const compileMs = options.cached ? 0 : e.compileMs;
    const result: ResultRecord = {
      id: newId(),
      modelId: model.id,
      inputId: input.id,
      method: e.method,
      composite: e.composite,
      params: e.params,
      target: e.target,
      relevanceSum: e.relevanceSum,
      topk: e.topk,
      artefacts: { heatmap, attribution, input: input.id, ...(input.displaySha256 ? { display: input.displaySha256 } : {}) },
      provenance: {
        modelSha256: model.id,
        inputSha256: input.id,
        method: e.method,
        composite: e.composite,
        params: e.params,
        target,
        ...(spec.region ? { region: { ...(spec.region.channel !== undefined ? { channel: spec.region.channel } : {}), ...(spec.region.box ? { box: [...spec.region.box] } : {}) } } : {}),
        xsysVersion: VERSION,
        ortVersion: ORT_VERSION,
        timingMs: { compile: compileMs, run: Math.max(0, e.runMs - compileMs), total: 0 },
        ...(options.reproducedFrom ? { reproducedFrom: options.reproducedFrom } : {}),
        ...(options.inputSource ? { inputSource: options.inputSource } : {}),
      },
      ...(options.jobId ? { jobId: options.jobId } : {}),
      ...(options.dedupKey ? { key: options.dedupKey, count: 1 } : {}),
      createdAt: new Date().toISOString(),
    };
    result.provenance.timingMs.total = options.t0 === undefined ? e.runMs : performance.now() - options.t0;
    return { result, input };
  }

  /** The stored input of a dataset sample (its tensor and display artefacts are stored on first use). */
  async sampleRecord(dataset: string, index: number): Promise<InputRecord> {
    return (await this.sampleInput(dataset, index)).record;
  }

  renderHeatmap(data: Float32Array, sampleDims: number[], cmap: string): Promise<Uint8Array> {
    return heatmapPng(data, sampleDims, cmap);
  }

  /** Recomputes a stored result from its record (model bytes, input tensor, method, composite, params, target). */
  async reproduce(resultId: string): Promise<{ resultId: string; reproducedId: string; maxAbsDiff: number; maxRelDiff: number; identical: boolean }> {
    const original = await this.store.results.get(resultId);
    if (!original) throw notFound(`no result with id ${resultId}`);
    const model = await this.store.models.get(original.modelId);
    if (!model) throw new HttpProblem(409, 'model-gone', 'Model no longer stored', `result ${resultId} was computed with model ${original.modelId}, which has been deleted`, 'upload the same ONNX file again (same bytes → same id) and retry');
    const inputRecord = await this.store.inputs.get(original.inputId);
    const inputBytes = await this.store.artefacts.get(original.inputId);
    const attrBytes = await this.store.artefacts.get(original.artefacts.attribution);
    if (!inputRecord || !inputBytes || !attrBytes) throw new HttpProblem(409, 'artefact-missing', 'Artefact missing', `the stored input or attribution of result ${resultId} is missing`);
    const mx = await this.models.explainer(model.id);
    const arr = parseNpy(inputBytes.bytes, `input ${original.inputId}`);
    const source: InputSource = original.provenance.inputSource ?? (inputRecord.source.kind === 'sample' ? inputRecord.source : { kind: inputRecord.source.kind });
    const input: ResolvedInput = { tensor: { data: toFloat32(arr), dims: arr.shape }, record: inputRecord, source };
    // The resolved target, not 'pred': a reproduction explains the same class even if the prediction changed.
    const again = await this.compute(model, mx, input, { method: original.method, composite: original.composite ?? undefined, params: original.params, ...(original.provenance.region ? { region: original.provenance.region } : {}) }, original.target, performance.now(), undefined, resultId);
    const before = toFloat32(parseNpy(attrBytes.bytes, 'attribution'));
    const afterBytes = (await this.store.artefacts.get(again.artefacts.attribution))!.bytes;
    const after = toFloat32(parseNpy(afterBytes, 'attribution'));
    let maxAbsDiff = before.length === after.length ? 0 : Infinity;
    let scale = 0;
    for (let i = 0; i < Math.min(before.length, after.length); i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(before[i]! - after[i]!));
      scale = Math.max(scale, Math.abs(before[i]!));
    }
    return {
      resultId,
      reproducedId: again.id,
      maxAbsDiff,
      maxRelDiff: scale > 0 ? maxAbsDiff / scale : maxAbsDiff === 0 ? 0 : Infinity,
      identical: again.artefacts.attribution === original.artefacts.attribution,
    };
  }
}

