/**
 * Models with several inputs in the workbench: one .npy per named input (images, masks, token ids, features),
 * explained with the one-pass methods of the registry through the model's ExplainSession, as `xsys explain --input
 * name=file.npy …` does. Each float input gets its attribution (stored as an .npy artefact, with a heatmap PNG when
 * it is image-shaped); token inputs get relevance per token.
 */
import { DEFAULT_COMPOSITE } from '../composites/index.js';
import { InvalidArgumentError } from '../errors.js';
import { encodeNpy, parseNpy } from '../io/npy.js';
import { FEEDS_METHODS, type FeedsMethod } from '../methods/multi-input.js';
import type { MethodName } from '../methods/registry.js';
import { feedFromArray, type Feed } from '../runtime/feeds.js';
import type { Store } from '../store/types.js';
import { ORT_VERSION, VERSION } from '../version.js';
import { heatmapPng } from './heatmap-png.js';
import { checkComposite, type ModelService } from './models.js';
import { completeParams, splitParams, type ParamValues } from './params.js';
import { softmaxTopk } from './topk.js';

export interface InputsExplainRequest {
  modelId: string;
  /** Input name → base64 .npy of one sample (with or without the batch axis). */
  inputs: Record<string, { npy: string; name?: string }>;
  method: string;
  composite?: string;
  params?: ParamValues;
  target?: number | 'pred';
}

export interface InputAttribution {
  input: string;
  dims: number[];
  /** sha256 of the attribution .npy artefact. */
  attribution: string;
  /** sha256 of a heatmap PNG, for inputs shaped like an image ([1, C, H, W] or [1, H, W]). */
  heatmap?: string;
  relevanceSum: number;
}

export interface InputsExplainResult {
  modelId: string;
  method: string;
  composite: string | null;
  params: ParamValues;
  target: number;
  topk: { class: number; score: number; prob: number }[];
  attributions: InputAttribution[];
  tokens?: { input: string; relevance: number[] };
  relevanceSum: number;
  provenance: { modelSha256: string; inputs: Record<string, { sha256: string; name?: string }>; target: number | 'pred'; xsysVersion: string; ortVersion: string; timingMs: { compile: number; run: number; total: number } };
}

const NPY = 'application/x-npy';

export class FeedsService {
  constructor(
    private readonly store: Store,
    private readonly models: ModelService,
  ) {}

  async explain(req: InputsExplainRequest): Promise<InputsExplainResult> {
    const t0 = performance.now();
    const model = await this.models.get(req.modelId);
    if (!FEEDS_METHODS.includes(req.method as FeedsMethod)) throw new InvalidArgumentError('method', `'${req.method}' is not available for models with several inputs`, `use one of: ${FEEDS_METHODS.join(', ')}`);
    const method = req.method as FeedsMethod;
    const mx = await this.models.feeds(model.id);
    const composite = method === 'lrp' ? checkComposite(req.composite ?? (mx.embeddings.length ? 'attnlrp' : DEFAULT_COMPOSITE)) : null;
    const params = completeParams(method as MethodName, composite, req.params ?? {});
    const { numeric } = splitParams(params);
    const feeds: Record<string, Feed> = {};
    const given: InputsExplainResult['provenance']['inputs'] = {};
    for (const [name, spec] of Object.entries(req.inputs)) {
      const want = mx.inputs.find((i) => i.name === name);
      if (!want) throw new InvalidArgumentError(`inputs.${name}`, `the model has no input named '${name}'`, `its inputs: ${mx.inputs.map((i) => i.name).join(', ')}`);
      if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(spec.npy)) throw new InvalidArgumentError(`inputs.${name}`, 'is not base64');
      const bytes = new Uint8Array(Buffer.from(spec.npy, 'base64'));
      const a = parseNpy(bytes, spec.name ?? `${name}.npy`);
      // One sample per request: a file without the batch axis gets one.
      const shape = want.shape && a.shape.length === want.shape.length - 1 ? [1, ...a.shape] : a.shape;
      if (shape[0] !== 1) throw new InvalidArgumentError(`inputs.${name}`, `holds a batch of ${shape[0]}; give one sample per input`, 'explain datasets with a job');
      feeds[name] = feedFromArray(name, { ...a, shape }, want);
      given[name] = { sha256: await this.store.artefacts.put(bytes, 'application/octet-stream'), ...(spec.name ? { name: spec.name } : {}) };
    }
    const target = req.target ?? 'pred';
    const e = await mx.explain(feeds, { method, composite: composite ?? undefined, params: numeric, target });
    const attributions: InputAttribution[] = [];
    let relevanceSum = 0;
    for (const [input, t] of Object.entries(e.attributions)) {
      let sum = 0;
      for (const v of t.data) sum += v;
      relevanceSum += sum;
      const sampleDims = t.dims.slice(1);
      const png = sampleDims.length === 2 || (sampleDims.length === 3 && (sampleDims[0] === 1 || sampleDims[0] === 3)) ? await heatmapPng(t.data, sampleDims, 'bwr') : undefined;
      attributions.push({ input, dims: [...t.dims], attribution: await this.store.artefacts.put(encodeNpy(t.data, t.dims), NPY), ...(png ? { heatmap: await this.store.artefacts.put(png, 'image/png') } : {}), relevanceSum: sum });
    }
    const tokens = e.tokenRelevance && e.tokenInput ? { input: e.tokenInput, relevance: Array.from(e.tokenRelevance.data) } : undefined;
    if (tokens && !attributions.length) relevanceSum = tokens.relevance.reduce((a, b) => a + b, 0);
    const compile = e.timing.compileMs + e.timing.sessionMs;
    return {
      modelId: model.id,
      method,
      composite,
      params,
      target: e.targets[0]!,
      topk: softmaxTopk(e.scores.data.subarray(0, e.scores.dims[1]!)),
      attributions,
      ...(tokens ? { tokens } : {}),
      relevanceSum,
      provenance: { modelSha256: model.id, inputs: given, target, xsysVersion: VERSION, ortVersion: ORT_VERSION, timingMs: { compile, run: Math.max(0, e.timing.runMs - compile), total: performance.now() - t0 } },
    };
  }
}
