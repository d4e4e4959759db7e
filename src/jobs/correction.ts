/**
 * `correction`: Reveal to Revise in the workbench — the job side of `xsys localise` + `xsys correct`. The artefact's
 * CAV at a layer is trained from a dataset of inputs showing it (`concept`) against clean inputs (`clean`); the
 * samples of `dataset` are ranked by artefact score with their CAV-conditioned heatmaps; ClArC is inserted after the
 * layer and the corrected model is registered as a model of its own (explained like any other); and, when a clean
 * test set and the same set with the artefact pasted are given (`test`, `pasted`, labelled), both models are
 * re-evaluated: accuracies, the gap, flips to the artefact class and the artefact's relevance share (the artefact's
 * region is where `pasted` differs from `test` in at least half of the samples).
 */
import { InvalidArgumentError } from '../errors.js';
import { cavFile, correctModel } from '../correction/correct.js';
import { cavRelevance, fitArtefactCav, rankByArtefact } from '../correction/localise.js';
import { evaluateModel } from '../correction/reevaluate.js';
import { serializeModel } from '../onnx/model.js';
import { size, type Tensor } from '../runtime/tensor.js';
import type { DatasetRegistry } from '../services/datasets.js';
import type { ModelService } from '../services/models.js';
import { CLARC_MODES, type ClarcMode } from '../weight-surgery/clarc.js';
import { checkBounds } from './bounds.js';
import { jobModelAndDataset } from './params.js';
import type { JobHandler } from './types.js';

/** Most inputs per role (concept, clean, ranked, test) one job reads. */
export const CORRECTION_MAX_INPUTS = 5000;
/** Heatmaps stored for the highest-ranked samples. */
const TOP = 8;

export interface CorrectionParams extends Record<string, unknown> {
  modelId: string;
  dataset: string;
  layer: string;
  concept: string;
  clean: string;
  mode: ClarcMode;
  reactive: boolean;
  count: number;
  conceptCount: number;
  cleanCount: number;
  test?: string;
  pasted?: string;
  testCount: number;
  artefactClass?: number;
}

export const correctionSchema = {
  type: 'object',
  required: ['modelId', 'dataset', 'layer', 'concept', 'clean'],
  properties: {
    modelId: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    dataset: { type: 'string', maxLength: 200 },
    layer: { type: 'string', maxLength: 500 },
    concept: { type: 'string', maxLength: 200 },
    clean: { type: 'string', maxLength: 200 },
    mode: { type: 'string', enum: [...CLARC_MODES] },
    reactive: { type: 'boolean' },
    count: { type: 'integer', minimum: 1, maximum: CORRECTION_MAX_INPUTS },
    test: { type: 'string', maxLength: 200 },
    pasted: { type: 'string', maxLength: 200 },
    artefactClass: { type: 'integer', minimum: 0, maximum: 100_000 },
  },
  additionalProperties: false,
} as const;

interface Deps {
  models: ModelService;
  datasets: DatasetRegistry;
}

const round = (v: number) => Number(v.toPrecision(5));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Where `pasted` differs from `clean` in at least half of the samples, per position of one sample's last two axes. */
export function artefactRegion(clean: Tensor, pasted: Tensor): Uint8Array {
  const n = clean.dims[0]!;
  const per = size(clean.dims) / n;
  const hw = clean.dims.slice(-2).reduce((a, b) => a * b, 1);
  const votes = new Uint32Array(hw);
  for (let i = 0; i < n; i++) for (let j = 0; j < per; j++) if (Math.abs(clean.data[i * per + j]! - pasted.data[i * per + j]!) > 1e-6) votes[j % hw]!++;
  return Uint8Array.from(votes, (v) => (2 * v >= n * (per / hw) && v > 0 ? 1 : 0));
}

export function correctionHandler(deps: Deps): JobHandler<CorrectionParams> {
  return {
    kind: 'correction',
    description: "Reveal to Revise: an artefact's CAV at a layer (inputs with the artefact against clean ones), the dataset ranked by artefact score with CAV-conditioned heatmaps, ClArC inserted after the layer (registered as a new model), and re-evaluation on a clean test set and its artefact-pasted twin",
    paramsSchema: correctionSchema,
    resumable: false,
    async prepare(raw) {
      checkBounds(raw, correctionSchema);
      const { modelId, dataset, size: total } = await jobModelAndDataset(raw, deps);
      const concept = String(raw.concept);
      const clean = String(raw.clean);
      const conceptCount = Math.min(deps.datasets.summaryOf(concept).count, CORRECTION_MAX_INPUTS);
      const cleanCount = Math.min(deps.datasets.summaryOf(clean).count, CORRECTION_MAX_INPUTS);
      if (conceptCount < 2) throw new InvalidArgumentError('concept', `dataset '${concept}' has ${conceptCount} example(s); a CAV needs at least 2`);
      if (cleanCount < 2) throw new InvalidArgumentError('clean', `dataset '${clean}' has ${cleanCount} example(s); a CAV needs at least 2`);
      const mx = await deps.models.explainer(modelId);
      const layer = String(raw.layer);
      await mx.forwardTensor(deps.datasets.sample(dataset, 0), layer);
      let testCount = 0;
      if ((raw.test === undefined) !== (raw.pasted === undefined)) throw new InvalidArgumentError(raw.test === undefined ? 'test' : 'pasted', 'the re-evaluation needs both a clean test set (test) and the same set with the artefact pasted (pasted)');
      if (raw.test !== undefined) {
        const t = deps.datasets.summaryOf(String(raw.test));
        const p = deps.datasets.summaryOf(String(raw.pasted));
        if (!t.labels) throw new InvalidArgumentError('test', `dataset '${String(raw.test)}' has no labels; accuracy needs them`);
        if (t.count !== p.count) throw new InvalidArgumentError('pasted', `has ${p.count} samples, the test set ${t.count}; it must be the same samples with the artefact pasted`);
        if (raw.artefactClass === undefined) throw new InvalidArgumentError('artefactClass', 'missing: the class the artefact is a shortcut for (its relevance share and flips are measured for it)');
        testCount = Math.min(t.count, CORRECTION_MAX_INPUTS);
      }
      const params: CorrectionParams = {
        modelId,
        dataset,
        layer,
        concept,
        clean,
        mode: (raw.mode as ClarcMode | undefined) ?? 'mean-shift',
        reactive: raw.reactive === true,
        count: Math.min(total, raw.count === undefined ? 500 : Number(raw.count)),
        conceptCount,
        cleanCount,
        testCount,
        ...(raw.test !== undefined ? { test: String(raw.test), pasted: String(raw.pasted), artefactClass: Number(raw.artefactClass) } : {}),
      };
      return { params, total: params.test ? 4 : 3 };
    },
    async run(ctx, p) {
      const total = p.test ? 4 : 3;
      const mx = await deps.models.explainer(p.modelId);
      const cav = await fitArtefactCav(mx, deps.datasets.batch(p.concept, range(p.conceptCount)), deps.datasets.batch(p.clean, range(p.cleanCount)), p.layer);
      await ctx.progress(1, total);
      if (ctx.signal.aborted) return;
      const inputs = deps.datasets.batch(p.dataset, range(p.count));
      const rel = await cavRelevance(mx.model, inputs, p.layer, cav.cav.direction);
      const ranking = rankByArtefact(rel.scores);
      const hw = rel.heatmapDims[0] * rel.heatmapDims[1];
      await ctx.progress(2, total);
      if (ctx.signal.aborted) return;
      const file = cavFile(cav);
      const ins = correctModel(mx.model, file, cav.dims, { mode: p.mode, threshold: p.reactive ? cav.threshold : undefined });
      const record = await deps.models.get(p.modelId);
      const { record: corrected } = await deps.models.register(serializeModel(ins.model), `${record.name.replace(/\.onnx$/, '')}-clarc-${p.mode}${p.reactive ? '-reactive' : ''}.onnx`, record.preprocess);
      await ctx.progress(3, total);
      if (ctx.signal.aborted) return;
      let evaluation: Record<string, unknown> | undefined;
      if (p.test && p.pasted) {
        const idx = range(p.testCount);
        const clean = deps.datasets.batch(p.test, idx);
        const pasted = deps.datasets.batch(p.pasted, idx);
        const labels = deps.datasets.summaryOf(p.test).labels!.slice(0, p.testCount);
        const sets = { clean, pasted, labels, region: artefactRegion(clean, pasted), artefactClass: p.artefactClass! };
        const before = await evaluateModel(mx, sets);
        const after = await evaluateModel(await deps.models.explainer(corrected.id), sets);
        evaluation = { before, after, gapRatio: before.gap !== 0 ? after.gap / before.gap : 0, cleanLossPoints: 100 * (before.cleanAccuracy - after.cleanAccuracy), regionPixels: sets.region.reduce((a, b) => a + b, 0) };
      }
      await ctx.saveResult({
        layer: p.layer,
        mode: p.mode,
        reactive: p.reactive,
        cav: { method: cav.cav.method, accuracy: cav.cav.accuracy, cleanProjection: round(cav.cleanProjection), artefactProjection: round(cav.artefactProjection), threshold: round(cav.threshold), concept: p.concept, clean: p.clean },
        ranked: p.count,
        aboveThreshold: Array.from(rel.scores).filter((s) => s > cav.threshold).length,
        ranking: ranking.slice(0, 50).map((i) => ({ index: i, score: round(rel.scores[i]!) })),
        heatmapDims: rel.heatmapDims,
        top: ranking.slice(0, TOP).map((i) => ({ index: i, heatmap: Array.from(rel.heatmaps.subarray(i * hw, (i + 1) * hw), round) })),
        correctedModelId: corrected.id,
        correctedModelName: corrected.name,
        nodesAdded: ins.nodes.length,
        ...(evaluation ? { evaluation } : {}),
      });
      await ctx.progress(total, total);
    },
  };
}
