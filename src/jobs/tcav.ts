/**
 * `tcav`: TCAV and α-TCAV in the workbench — the job side of `xsys tcav`. A concept is a registered dataset of
 * example inputs (e.g. images showing a pattern); random counterexample sets are drawn from another dataset; the
 * class samples are the first `count` samples of a dataset labelled with the class. The job computes the layer's
 * activations of concept and random inputs and the class logit's gradients at the layer for the class samples, then
 * CAVs against `runs` random sets, their TCAV / α-TCAV scores and the t-test against random CAVs (src/strategies).
 * The CAV directions are stored with their provenance. Everything is needed for the test, so an interrupted job is
 * not resumed.
 */
import { InvalidArgumentError } from '../errors.js';
import type { DatasetRegistry } from '../services/datasets.js';
import type { ModelService } from '../services/models.js';
import { CAV_METHODS, type CavMethod } from '../strategies/cav.js';
import { layerActivations, layerGradients } from '../strategies/features.js';
import { tcav } from '../strategies/tcav.js';
import { checkBounds } from './bounds.js';
import { jobModelAndDataset } from './params.js';
import type { JobHandler } from './types.js';

/** Most inputs per role (class samples, concept examples, random pool) one job reads. */
export const TCAV_MAX_INPUTS = 5000;
/** CAV directions longer than this are stored as their norm-1 summary only (the JSON would grow past a few MB). */
const MAX_STORED_DIRECTION = 16_384;

export interface TcavParams extends Record<string, unknown> {
  modelId: string;
  /** Dataset of the class samples (labels pick the class's samples when present). */
  dataset: string;
  class: number;
  layer: string;
  concept: string;
  random: string;
  /** Dataset indices of the class samples, concept examples and random pool. */
  classIndices: number[];
  conceptCount: number;
  randomCount: number;
  cav: CavMethod;
  reduce: 'flatten' | 'channels';
  runs: number;
  alpha: number;
  significance: number;
  seed: number;
}

export const tcavSchema = {
  type: 'object',
  required: ['modelId', 'dataset', 'class', 'layer', 'concept'],
  properties: {
    modelId: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    dataset: { type: 'string', maxLength: 200 },
    class: { type: 'integer', minimum: 0, maximum: 100_000 },
    layer: { type: 'string', maxLength: 500 },
    concept: { type: 'string', maxLength: 200 },
    random: { type: 'string', maxLength: 200 },
    count: { type: 'integer', minimum: 2, maximum: TCAV_MAX_INPUTS },
    cav: { type: 'string', enum: [...CAV_METHODS] },
    reduce: { type: 'string', enum: ['flatten', 'channels'] },
    runs: { type: 'integer', minimum: 2, maximum: 100 },
    alpha: { type: 'number', minimum: 0, maximum: 1e6 },
    significance: { type: 'number', minimum: 1e-9, maximum: 0.5 },
    seed: { type: 'integer', minimum: 0, maximum: 2 ** 31 - 1 },
  },
  additionalProperties: false,
} as const;

interface Deps {
  models: ModelService;
  datasets: DatasetRegistry;
}


const round = (v: number) => Number(v.toPrecision(6));

export function tcavHandler(deps: Deps): JobHandler<TcavParams> {
  return {
    kind: 'tcav',
    description: "TCAV and α-TCAV: CAVs of a concept (a dataset of example inputs) against random sets, the class logit's sensitivity along them, a t-test against random CAVs",
    paramsSchema: tcavSchema,
    resumable: false,
    async prepare(raw) {
      checkBounds(raw, tcavSchema);
      const { modelId, dataset, size: total } = await jobModelAndDataset(raw, deps);
      const cls = Number(raw.class);
      const concept = String(raw.concept);
      const random = raw.random === undefined ? dataset : String(raw.random);
      const conceptCount = Math.min(deps.datasets.summaryOf(concept).count, TCAV_MAX_INPUTS);
      const randomCount = Math.min(deps.datasets.summaryOf(random).count, TCAV_MAX_INPUTS);
      if (conceptCount < 2) throw new InvalidArgumentError('concept', `dataset '${concept}' has ${conceptCount} example(s); a CAV needs at least 2`);
      if (randomCount < 4) throw new InvalidArgumentError('random', `dataset '${random}' has ${randomCount} sample(s); two disjoint random sets need at least 4`);
      const labels = deps.datasets.summaryOf(dataset).labels;
      const count = raw.count === undefined ? 200 : Number(raw.count);
      const classIndices: number[] = [];
      for (let i = 0; i < total && classIndices.length < count; i++) if (!labels || labels[i] === cls) classIndices.push(i);
      if (classIndices.length < 2) throw new InvalidArgumentError('class', `only ${classIndices.length} sample(s) of class ${cls} in '${dataset}'; TCAV needs at least 2`);
      const mx = await deps.models.explainer(modelId);
      const probe = deps.datasets.sample(dataset, classIndices[0]!);
      mx.validate(probe);
      const classes = (await mx.scores(probe)).data.length;
      if (cls >= classes) throw new InvalidArgumentError('class', `must be 0–${classes - 1}`);
      const layer = String(raw.layer);
      await mx.forwardTensor(probe, layer);
      const params: TcavParams = {
        modelId,
        dataset,
        class: cls,
        layer,
        concept,
        random,
        classIndices,
        conceptCount,
        randomCount,
        cav: (raw.cav as CavMethod | undefined) ?? 'pattern',
        reduce: (raw.reduce as 'flatten' | 'channels' | undefined) ?? 'flatten',
        runs: raw.runs === undefined ? 10 : Number(raw.runs),
        alpha: raw.alpha === undefined ? 10 : Number(raw.alpha),
        significance: raw.significance === undefined ? 0.05 : Number(raw.significance),
        seed: raw.seed === undefined ? 0 : Number(raw.seed),
      };
      const randomSize = Math.min(conceptCount, Math.floor(randomCount / 2));
      if (randomSize < 1) throw new InvalidArgumentError('random', `dataset '${random}' is too small for random sets`);
      return { params, total: 4 };
    },
    async run(ctx, p) {
      const mx = await deps.models.explainer(p.modelId);
      const range = (n: number) => Array.from({ length: n }, (_, i) => i);
      const concept = await layerActivations(mx, deps.datasets.batch(p.concept, range(p.conceptCount)), p.layer, p.reduce);
      await ctx.progress(1, 4);
      if (ctx.signal.aborted) return;
      const pool = await layerActivations(mx, deps.datasets.batch(p.random, range(p.randomCount)), p.layer, p.reduce);
      await ctx.progress(2, 4);
      if (ctx.signal.aborted) return;
      const grads = await layerGradients(mx, deps.datasets.batch(p.dataset, p.classIndices), p.layer, p.class, p.reduce);
      await ctx.progress(3, 4);
      if (ctx.signal.aborted) return;
      const r = tcav(concept, pool, grads, { method: p.cav, runs: p.runs, alpha: p.alpha, significance: p.significance, seed: p.seed, randomSize: Math.min(p.conceptCount, Math.floor(p.randomCount / 2)) });
      const provenance = (run: number, kind: 'concept' | 'random') => ({ model: p.modelId, layer: p.layer, reduce: p.reduce, cav: p.cav, concept: kind === 'concept' ? p.concept : `random subset of ${p.random}`, random: p.random, seed: p.seed, run });
      await ctx.saveResult({
        class: p.class,
        layer: p.layer,
        concept: p.concept,
        randomDataset: p.random,
        classSamples: p.classIndices.length,
        cav: p.cav,
        alpha: r.alpha,
        significance: r.significance,
        tcav: r.tcav,
        alphaTcav: r.alphaTcav,
        random: r.random,
        randomAlpha: r.randomAlpha,
        p: r.test.p,
        alphaP: r.alphaTest.p,
        significant: r.significant,
        runs: r.runs.map((x, i) => ({ tcav: x.tcav, alphaTcav: x.alphaTcav, accuracy: x.cav.accuracy, provenance: provenance(i, 'concept'), ...(x.cav.direction.length <= MAX_STORED_DIRECTION ? { direction: Array.from(x.cav.direction, round) } : {}) })),
        randomRuns: r.randomRuns.map((x, i) => ({ tcav: x.tcav, alphaTcav: x.alphaTcav, accuracy: x.cav.accuracy, provenance: provenance(i, 'random') })),
      });
      await ctx.progress(4, 4);
    },
  };
}
