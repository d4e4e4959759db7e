/**
 * Concepts in the workbench: CRP explanations of dataset samples, reference-sample sets built by the
 * `concept-references` job (one JSON file per model × dataset × settings in the concepts directory), their cropped
 * reference samples and class atlases. Requests name a stored model, a registered dataset and a reference-set id
 * (hex) — never a file.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CrpExplainer } from '../concepts/crp.js';
import { conceptRelevance, subConcepts, type ChannelRelevance } from '../concepts/relevance.js';
import { channelLayers, type ChannelLayer } from '../concepts/layers.js';
import { classAtlas, compareAtlases, cropReferences, referenceSamples, type AtlasComparison, type Box, type ReferenceStat } from '../concepts/atlas.js';
import { readReferenceFile, type ReferenceFile } from '../concepts/store.js';
import { stateFromJson } from '../concepts/references.js';
import type { ReferenceSpec, ReferenceState, SampleSource } from '../concepts/references.js';
import { conceptHeatmap, cropImage, sampleImage } from '../concepts/render.js';
import { encodePng } from '../render/png.js';
import { upscaleFactor } from '../render/heatmap.js';
import { parseModel } from '../onnx/model.js';
import { argmaxRows } from '../runtime/tensor.js';
import type { DatasetRegistry } from './datasets.js';
import type { ModelService } from './models.js';
import { notFound } from './problem.js';

export interface ConceptSummary extends ChannelRelevance {
  /** The concept's conditional heatmap on the input, a PNG data URL. */
  heatmap: string;
  subConcepts?: ChannelRelevance[];
}

export interface ReferenceSetSummary {
  id: string;
  modelId: string;
  dataset: string;
  spec: ReferenceSpec;
  processed: number;
  total: number;
  complete: boolean;
}

const dataUrl = (png: Uint8Array) => `data:image/png;base64,${Buffer.from(png).toString('base64')}`;

/** The id of the reference set of a model, dataset and settings (the file name in the concepts directory). */
export function referenceSetId(modelId: string, dataset: string, spec: ReferenceSpec): string {
  return createHash('sha256').update(JSON.stringify([modelId, dataset, spec])).digest('hex').slice(0, 24);
}

export class ConceptService {
  constructor(
    readonly dir: string,
    private readonly models: ModelService,
    private readonly datasets: DatasetRegistry,
    private readonly threads?: number,
  ) {}

  /**
   * The CRP face of the model service's explainer: its ONNX Runtime sessions live in the server's worker thread and
   * its CRP graphs compile in worker threads, so concept explanations never run on the event loop.
   */
  crp(modelId: string): Promise<CrpExplainer> {
    return this.models.crp(modelId);
  }

  async layers(modelId: string): Promise<ChannelLayer[]> {
    return channelLayers(parseModel(await this.models.bytes(modelId)));
  }

  /** A registered dataset as a sample source (its labels too). */
  source(dataset: string): SampleSource {
    const summary = this.datasets.summaryOf(dataset);
    return {
      size: summary.count,
      sampleShape: summary.shape,
      batch: (start, count) => this.datasets.batch(dataset, Array.from({ length: count }, (_, i) => start + i)),
      ...(summary.labels ? { label: (i: number) => summary.labels![i]! } : {}),
    };
  }

  async explain(req: { modelId: string; dataset: string; index: number; layer: string; target?: number | 'pred'; top?: number; lower?: string; composite?: string }): Promise<{ target: number; layer: string; total: number; channels: number; concepts: ConceptSummary[]; lower?: string }> {
    const crp = await this.crp(req.modelId);
    const x = this.datasets.sample(req.dataset, req.index);
    const opts = { target: req.target ?? 'pred', composite: req.composite } as const;
    const cr = await conceptRelevance(crp, x, req.layer, opts);
    const chosen = cr.channels.slice(0, req.top ?? 6);
    const heat = await crp.explain(x, chosen.map((c) => [{ tensor: req.layer, channels: [c.channel] }]), { ...opts, target: cr.target });
    const subs = req.lower ? await subConcepts(crp, x, req.layer, chosen.map((c) => c.channel), req.lower, { ...opts, target: cr.target }) : undefined;
    const dims = x.dims;
    const scale = dims.length === 4 ? upscaleFactor(dims[3]!, dims[2]!) : 1;
    const concepts: ConceptSummary[] = [];
    for (const [k, c] of chosen.entries()) {
      const item = heat.items[k]!;
      concepts.push({ ...c, heatmap: dataUrl(await encodePng(conceptHeatmap(item.heatmap.data, item.heatmap.dims), scale)), ...(subs ? { subConcepts: subs[k]!.channels.slice(0, req.top ?? 6) } : {}) });
    }
    return { target: cr.target, layer: req.layer, total: cr.total, channels: cr.vector.length, concepts, ...(req.lower ? { lower: req.lower } : {}) };
  }

  path(id: string): string {
    if (!/^[0-9a-f]{24}$/.test(id)) throw notFound(`no reference set ${id}`);
    return join(this.dir, `${id}.json`);
  }

  async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  async list(modelId?: string): Promise<ReferenceSetSummary[]> {
    let names: string[] = [];
    try {
      names = (await readdir(this.dir)).filter((n) => /^[0-9a-f]{24}\.json$/.test(n)).sort();
    } catch {
      return [];
    }
    const out: ReferenceSetSummary[] = [];
    for (const n of names) {
      const f = await readReferenceFile(join(this.dir, n)).catch(() => undefined);
      if (!f) continue;
      const summary = this.summarise(n.slice(0, 24), f);
      if (!modelId || summary.modelId === modelId) out.push(summary);
    }
    return out;
  }

  private summarise(id: string, f: ReferenceFile): ReferenceSetSummary {
    return { id, modelId: f.provenance.model.sha256, dataset: f.provenance.dataset.name ?? '', spec: f.provenance.spec, processed: f.processed, total: f.provenance.dataset.size, complete: f.complete };
  }

  private async open(id: string): Promise<{ file: ReferenceFile; state: ReferenceState }> {
    const file = await readReferenceFile(this.path(id)).catch(() => {
      throw notFound(`no reference set ${id}`);
    });
    return { file, state: stateFromJson(file.state) };
  }

  /** A channel's reference samples, each cropped to the concept (PNG data URLs). */
  async samples(id: string, q: { layer: string; channel: number; n?: number; stat?: ReferenceStat; cls?: number; threshold?: number }): Promise<{ index: number; value: number; target: number; box: Box; crop: string; heatmap: string }[]> {
    const { file, state } = await this.open(id);
    const dataset = file.provenance.dataset.name!;
    const refs = referenceSamples(state, q.layer, q.channel, { stat: q.stat, cls: q.cls, n: q.n ?? 6 });
    if (refs.length === 0) return [];
    const crp = await this.crp(file.provenance.model.sha256);
    const source = this.source(dataset);
    const per = source.sampleShape.reduce((a, b) => a * b, 1);
    const batch = new Float32Array(per * refs.length);
    refs.forEach((r, i) => batch.set(source.batch(r.index, 1).data, i * per));
    let targets: number[];
    if (q.cls !== undefined) targets = refs.map(() => q.cls!);
    else if (file.provenance.spec.targets === 'label' && source.label) targets = refs.map((r) => source.label!(r.index));
    else {
      const s = await crp.base.scores({ data: batch, dims: [refs.length, ...source.sampleShape] });
      targets = argmaxRows(s.data, refs.length);
    }
    const crops = await cropReferences(crp, source, refs, targets, q.layer, q.channel, { threshold: q.threshold, composite: file.provenance.spec.composite });
    const out = [];
    for (const c of crops) {
      const img = sampleImage(source.batch(c.index, 1).data, source.sampleShape);
      const cropped = cropImage(img, c.box);
      out.push({ index: c.index, value: c.value, target: c.target, box: c.box, crop: dataUrl(await encodePng(cropped, upscaleFactor(cropped.width, cropped.height, 64))), heatmap: dataUrl(await encodePng(conceptHeatmap(c.heatmap.data, c.heatmap.dims), upscaleFactor(img.width, img.height, 64))) });
    }
    return out;
  }

  async atlas(id: string, q: { layer: string; cls: number; compare?: number; top?: number; refs?: number }): Promise<{ layer: string; cls: number; samples: number; concepts: { channel: number; meanRelevance: number; references: { index: number; value: number }[] }[]; comparison?: AtlasComparison }> {
    const { state } = await this.open(id);
    const atlas = classAtlas(state, q.layer, q.cls, { top: q.top ?? 8, refs: q.refs ?? 4 });
    const comparison = q.compare !== undefined ? compareAtlases(state, q.layer, q.cls, q.compare, { top: q.top ?? 8 }) : undefined;
    return { layer: atlas.layer, cls: atlas.cls, samples: atlas.samples, concepts: atlas.concepts.map((c) => ({ channel: c.channel, meanRelevance: c.meanRelevance, references: c.references.map((r) => ({ index: r.index, value: r.value })) })), ...(comparison ? { comparison: { ...comparison, differences: comparison.differences.slice(0, q.top ?? 8) } } : {}) };
  }
}
