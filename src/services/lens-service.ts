/**
 * SemanticLens in the workbench: registered foundation models (the bundled aligned MNIST pair, or one a user
 * uploads), lens indexes built by the `lens-embed` job from a reference set (one JSON file per reference set ×
 * foundation model × settings in the lens directory), and what the Lens view asks of them — search, labels,
 * component detail, PURE, audits, steering. Requests name a reference set, an index id and a foundation model by
 * name, never a file.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { FoundationModel, type FoundationSources } from '../lens/foundation.js';
import { embedComponents, findComponent, readLensIndex, redundancy, writeLensIndex, type LensIndex, type LensSpec } from '../lens/embed.js';
import { imageSearch, labelsFor, spaceFor, textSearch } from '../lens/query.js';
import type { LensSpace, SearchHit } from '../lens/search.js';
import { auditClass, type AuditReport } from '../lens/audit.js';
import { pure, type PureResult } from '../lens/pure.js';
import { steerModel } from '../lens/steer.js';
import { referenceStrip } from '../lens/strip.js';
import type { Box } from '../concepts/atlas.js';
import { stateFromJson } from '../concepts/references.js';
import { readReferenceFile } from '../concepts/store.js';
import { sampleImage } from '../concepts/render.js';
import { explain } from '../methods/explain.js';
import { ModelExplainer } from '../methods/explainer.js';
import { parseModel, serializeModel } from '../onnx/model.js';
import { attributionToHeatmap, upscaleFactor, type RasterImage } from '../render/heatmap.js';
import { encodePng } from '../render/png.js';
import type { Tensor } from '../runtime/tensor.js';
import type { Preprocess } from '../store/types.js';
import type { ConceptService } from './concept-service.js';
import type { DatasetRegistry } from './datasets.js';
import type { ModelService } from './models.js';
import { notFound } from './problem.js';

export interface LensIndexSummary {
  id: string;
  referenceSet: string;
  modelId: string;
  dataset: string;
  foundation: string;
  spec: LensSpec;
  components: number;
  skipped: number;
  meanClarity: number;
}

export interface FoundationSummary {
  name: string;
  dim: number;
  hasText: boolean;
  vocabulary: string[];
  neutralPrompts: string[];
}

const dataUrl = (png: Uint8Array) => `data:image/png;base64,${Buffer.from(png).toString('base64')}`;

/** A [1, C, H, W] sample as the 8-bit picture it was made from, inverting the dataset's mean/std when known. */
export function samplePicture(t: Tensor, pre: Preprocess): RasterImage {
  const shape = t.dims.slice(1);
  if (pre.mean === undefined && pre.std === undefined) return sampleImage(t.data, shape);
  const c = shape[0]!;
  const plane = t.data.length / c;
  const unit = new Float32Array(t.data.length);
  for (let k = 0; k < c; k++) {
    const mean = pre.mean?.[pre.mean.length === 1 ? 0 : k] ?? 0;
    const std = pre.std?.[pre.std.length === 1 ? 0 : k] ?? 1;
    for (let p = 0; p < plane; p++) unit[k * plane + p] = t.data[k * plane + p]! * std + mean;
  }
  return sampleImage(unit, shape, true);
}

export function lensIndexId(referenceSet: string, foundation: string, spec: LensSpec): string {
  return createHash('sha256').update(JSON.stringify([referenceSet, foundation, spec])).digest('hex').slice(0, 24);
}

export class LensService {
  private readonly foundations = new Map<string, FoundationModel>();
  private readonly spaces = new Map<string, Promise<{ index: LensIndex; space: LensSpace; foundation: FoundationModel }>>();

  constructor(
    readonly dir: string,
    private readonly models: ModelService,
    private readonly datasets: DatasetRegistry,
    private readonly concepts: ConceptService,
    private readonly threads?: number,
  ) {}

  async registerFoundation(src: FoundationSources | string): Promise<FoundationSummary> {
    const f = typeof src === 'string' ? await FoundationModel.load(src, { threads: this.threads }) : await FoundationModel.create(src, { threads: this.threads });
    this.foundations.set(f.spec.name, f);
    return this.summariseFoundation(f);
  }

  private summariseFoundation(f: FoundationModel): FoundationSummary {
    return { name: f.spec.name, dim: f.spec.dim, hasText: f.hasText, vocabulary: f.spec.vocabulary ?? [], neutralPrompts: f.spec.neutralPrompts };
  }

  listFoundations(): FoundationSummary[] {
    return [...this.foundations.values()].map((f) => this.summariseFoundation(f));
  }

  foundation(name: string): FoundationModel {
    const f = this.foundations.get(name);
    if (!f) throw notFound(`no foundation model '${name}'`, 'list them with GET /api/lens/foundations');
    return f;
  }

  path(id: string): string {
    if (!/^[0-9a-f]{24}$/.test(id)) throw notFound(`no lens index ${id}`);
    return join(this.dir, `${id}.json`);
  }

  /** The picture of a dataset sample (what the foundation model sees). */
  picture(dataset: string, index: number): RasterImage {
    return samplePicture(this.datasets.sample(dataset, index), this.datasets.summaryOf(dataset).preprocess);
  }

  /** The job's work: embeds the components of a reference set with a foundation model and stores the index. */
  async build(p: { referenceSet: string; foundation: string; spec: LensSpec; index: string }, signal?: AbortSignal, onProgress?: (done: number, total: number) => void): Promise<LensIndex> {
    const file = await readReferenceFile(this.concepts.path(p.referenceSet)).catch(() => {
      throw notFound(`no reference set ${p.referenceSet}`);
    });
    if (!file.complete) throw new InvalidArgumentError('referenceSet', `reference set ${p.referenceSet} is not complete (${file.processed}/${file.provenance.dataset.size} samples)`, 'finish (resume) the concept-references job first');
    const dataset = file.provenance.dataset.name!;
    const crp = await this.concepts.crp(file.provenance.model.sha256);
    const index = await embedComponents({ crp, source: this.concepts.source(dataset), picture: (i) => this.picture(dataset, i), state: stateFromJson(file.state), references: file.provenance, foundation: this.foundation(p.foundation), spec: p.spec, signal, onProgress });
    index.provenance.referenceSet = p.referenceSet;
    await mkdir(this.dir, { recursive: true });
    await writeLensIndex(this.path(p.index), index);
    this.spaces.delete(p.index);
    return index;
  }

  async list(modelId?: string): Promise<LensIndexSummary[]> {
    let names: string[] = [];
    try {
      names = (await readdir(this.dir)).filter((n) => /^[0-9a-f]{24}\.json$/.test(n)).sort();
    } catch {
      return [];
    }
    const out: LensIndexSummary[] = [];
    for (const n of names) {
      const idx = await readLensIndex(join(this.dir, n)).catch(() => undefined);
      if (!idx || (modelId && idx.provenance.model.sha256 !== modelId)) continue;
      const cs = idx.components;
      out.push({ id: n.slice(0, 24), referenceSet: referenceSetOf(idx), modelId: idx.provenance.model.sha256, dataset: idx.provenance.dataset.name ?? '', foundation: idx.provenance.foundation.name, spec: idx.provenance.spec, components: cs.length, skipped: idx.skipped.length, meanClarity: cs.length ? cs.reduce((a, c) => a + c.clarity, 0) / cs.length : 0 });
    }
    return out;
  }

  private open(id: string): Promise<{ index: LensIndex; space: LensSpace; foundation: FoundationModel }> {
    let p = this.spaces.get(id);
    if (!p) {
      p = (async () => {
        const index = await readLensIndex(this.path(id)).catch(() => {
          throw notFound(`no lens index ${id}`, 'build one with the lens-embed job');
        });
        const foundation = this.foundation(index.provenance.foundation.name);
        return { index, foundation, space: await spaceFor(index, foundation) };
      })();
      this.spaces.set(id, p);
      p.catch(() => this.spaces.delete(id));
    }
    return p;
  }

  private async strip(dataset: string, samples: readonly { index: number; box?: Box }[], n = 8): Promise<string> {
    const img = referenceStrip(samples.slice(0, n).map((s) => ({ image: this.picture(dataset, s.index), box: s.box })));
    return dataUrl(await encodePng(img, 2));
  }

  async search(id: string, q: { text?: string; image?: { dataset: string; index: number; box?: Box }; top?: number; layers?: string[]; rankBy?: 'cosine' | 'calibrated'; vocabulary?: string[]; threshold?: number }): Promise<{ query: string; results: (SearchHit & { label?: string | null; strip: string; polysemantic: boolean })[] }> {
    if (!q.text === !q.image) throw new InvalidArgumentError('text/image', 'give exactly one query: text or image');
    const { index, space, foundation } = await this.open(id);
    const options = { top: q.top ?? 12, layers: q.layers, rankBy: q.rankBy };
    const hits = q.text ? await textSearch(space, foundation, q.text, options) : await imageSearch(space, foundation, this.picture(q.image!.dataset, q.image!.index), q.image!.box, options);
    const labels = q.vocabulary?.length ? await labelsFor(space, foundation, q.vocabulary, q.threshold) : undefined;
    const dataset = index.provenance.dataset.name!;
    const results = [];
    for (const h of hits) {
      const c = findComponent(index, h.layer, h.channel);
      const label = labels?.find((l) => l.layer === h.layer && l.channel === h.channel)?.label;
      results.push({ ...h, ...(labels ? { label: label ?? null } : {}), polysemantic: c.polysemanticity.clusters > 1, strip: await this.strip(dataset, c.samples) });
    }
    return { query: q.text ?? `image ${q.image!.dataset}[${q.image!.index}]`, results };
  }

  async labels(id: string, q: { vocabulary: string[]; threshold?: number }) {
    const { space, foundation } = await this.open(id);
    return labelsFor(space, foundation, q.vocabulary, q.threshold);
  }

  async component(id: string, q: { layer: string; channel: number }) {
    const { index } = await this.open(id);
    const c = findComponent(index, q.layer, q.channel);
    const r = redundancy(index);
    const nearest = r.nearest.find((x) => x.layer === q.layer && x.channel === q.channel);
    return { layer: c.layer, channel: c.channel, clarity: c.clarity, polysemanticity: c.polysemanticity, samples: c.samples, nearest: nearest ? { ...nearest.other, cosine: nearest.cosine } : null, strip: await this.strip(index.provenance.dataset.name!, c.samples, 16) };
  }

  async pure(id: string, q: { layer: string; channel: number; lower: string; samples?: number; k?: number }): Promise<PureResult & { strips: string[] }> {
    const { index, foundation } = await this.open(id);
    const file = await readReferenceFile(this.concepts.path(referenceSetOf(index)));
    const dataset = index.provenance.dataset.name!;
    const crp = await this.concepts.crp(index.provenance.model.sha256);
    const r = await pure({ crp, source: this.concepts.source(dataset), picture: (i) => this.picture(dataset, i), foundation, state: stateFromJson(file.state), layer: q.layer, channel: q.channel, lower: q.lower, samples: q.samples ?? 16, k: q.k, stat: index.provenance.spec.stat, composite: file.provenance.spec.composite, targets: file.provenance.spec.targets, threshold: index.provenance.spec.threshold });
    const strips = [];
    for (const c of r.clusters) strips.push(await this.strip(dataset, c.members.map((i) => r.samples[i]!)));
    return { ...r, strips };
  }

  async audit(id: string, q: { layer: string; cls: number; should: string[]; shouldNot: string[]; threshold?: number }): Promise<AuditReport & { strips: Record<string, string> }> {
    const { index, space, foundation } = await this.open(id);
    const file = await readReferenceFile(this.concepts.path(referenceSetOf(index)));
    const labels = await labelsFor(space, foundation, [...q.should, ...q.shouldNot], q.threshold);
    const report = auditClass(stateFromJson(file.state), labels, { layer: q.layer, cls: q.cls, should: q.should, shouldNot: q.shouldNot });
    const strips: Record<string, string> = {};
    for (const s of report.spurious.slice(0, 6)) strips[String(s.channel)] = await this.strip(index.provenance.dataset.name!, s.samples);
    return { ...report, strips };
  }

  /**
   * Steering: the model with the channels scaled, one sample's prediction and LRP heatmap before and after; with
   * `save`, the steered model is registered as a new model (the corrected model file).
   */
  async steer(id: string, q: { layer: string; channels: number[]; factor: number; dataset: string; index: number; save?: boolean }) {
    const { index } = await this.open(id);
    const modelId = index.provenance.model.sha256;
    const bytes = await this.models.bytes(modelId);
    const steered = steerModel(parseModel(bytes), [{ layer: q.layer, channels: q.channels, factor: q.factor }]);
    const x = this.datasets.sample(q.dataset, q.index);
    const side = async (mx: ModelExplainer) => {
      const e = await explain(mx, x, { method: 'lrp' });
      const scores = await mx.scores(x);
      const probs = softmax(scores.data);
      const pred = probs.indexOf(Math.max(...probs));
      const dims = e.attribution.dims;
      const scale = dims.length === 4 ? upscaleFactor(dims[3]!, dims[2]!, 112) : 1;
      return { prediction: pred, probabilities: probs.map((p) => Math.round(p * 1e4) / 1e4), heatmap: dataUrl(await encodePng(attributionToHeatmap(e.attribution.data, [...dims]), scale)) };
    };
    const before = await side((await this.concepts.crp(modelId)).base);
    const steeredBytes = serializeModel(steered);
    const after = await side(await ModelExplainer.load(steeredBytes, { threads: this.threads }));
    let savedModelId: string | undefined;
    if (q.save) {
      const record = await this.models.get(modelId);
      savedModelId = (await this.models.register(steeredBytes, `${record.name.replace(/\.onnx$/, '')}-steered.onnx`, record.preprocess)).record.id;
    }
    return { layer: q.layer, channels: q.channels, factor: q.factor, before, after, ...(savedModelId ? { modelId: savedModelId } : {}) };
  }
}

function softmax(z: Float32Array): number[] {
  const m = Math.max(...z);
  const e = Array.from(z, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** The reference set an index was built from: recorded in its spec's provenance by the job. */
function referenceSetOf(index: LensIndex): string {
  const r = index.provenance.referenceSet;
  if (!r) throw notFound('the lens index does not name its reference set', 'rebuild it with the lens-embed job');
  return r;
}
