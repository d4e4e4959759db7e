/**
 * `evaluate` on the queue (`xsys serve --queue`): a shard is a range of the job's sample positions, evaluated by a worker
 * with runEvaluation — every method explained, every metric scored — and delivered as that range's per-sample scores.
 * The server merges the shards' scores in position order and recomputes each cell's mean, std and n from them.
 *
 * Each shard is one evaluation batch, as Quantus evaluates batch by batch: metrics that normalise over the batch do so
 * over the shard, and the shard's random stream starts from seed + its first position (a single shard covering all
 * samples reproduces the in-process run exactly). The shard size is fixed at submission, so the outcome depends on it
 * but never on the number of workers or the order in which shards finish.
 */
import { InputDataError, InvalidArgumentError } from '../errors.js';
import { runEvaluation, summarise } from '../evaluation/evaluate.js';
import { OrtModel } from '../evaluation/ort-model.js';
import type { DatasetRegistry } from '../services/datasets.js';
import type { ModelService } from '../services/models.js';
import type { Store } from '../store/types.js';
import { gatherDataset, methodSpecOf, metricRequests, outcomeOf, stageLabels, stageTracker, type EvaluateParams, type EvaluationOutcome } from './evaluate-outcome.js';
import { shardJobMasks } from './masks.js';
import type { ShardableKind, ShardRange, ShardWork } from './shardable.js';

export type EvaluateDeps = { models: ModelService; datasets: DatasetRegistry; store: Store };

/** The random seed of a shard: the job's seed for the shard at position 0, so one shard equals the in-process run. */
export const shardSeed = (seed: number, range: Pick<ShardRange, 'start'>): number => seed + range.start;

/** The worker half: evaluates positions range.start … range.start+count−1 of the job's indices. */
export const evaluateWork: ShardWork<EvaluateParams> = async (env, p, range) => {
  const explainer = await env.model();
  const ds = await env.dataset();
  const indices = p.indices.slice(range.start, range.start + range.count);
  const data = gatherDataset(ds.name, indices, (i) => ds.sample(i), (i) => ds.label(i));
  if (p.masks) {
    // Threshold masks come from the samples the worker has; an uploaded file is fetched by its artefact's sha256.
    const bytes = 'artefact' in p.masks ? await env.artefact(p.masks.artefact) : undefined;
    data.masks = shardJobMasks(p.masks, bytes, data.x, data.shape, { indices, offset: range.start, total: p.indices.length, datasetCount: ds.count, dataset: ds.name });
  }
  const seed = shardSeed(p.seed, range);
  // Cancelling the job stops the evaluation at its next progress callback (after a batch).
  const stages = stageTracker(env.signal, stageLabels(p), () => undefined);
  const result = await runEvaluation({
    model: OrtModel.wrap(explainer, { batchSize: p.batchSize }),
    data,
    methods: p.methods.map(methodSpecOf),
    metrics: metricRequests(p.metrics, p.metricParams),
    target: p.target,
    batchSize: p.batchSize,
    seed,
    onProgress: stages.onProgress,
  });
  for (let k = 0; k < range.count; k++) env.itemDone();
  return { items: [], outcome: outcomeOf(result, { ...p, indices, seed }) };
};

/** Checks a delivered shard outcome against the job before it is stored (a worker is another process, maybe another version). */
function checkOutcome(p: EvaluateParams, range: ShardRange, raw: Record<string, unknown> | undefined): EvaluationOutcome {
  const o = raw as EvaluationOutcome | undefined;
  const bad = (why: string): never => {
    throw new InvalidArgumentError('outcome', `shard ${range.index} of the evaluation: ${why}`);
  };
  if (!o || !Array.isArray(o.cells) || !Array.isArray(o.targets)) return bad('no per-sample scores were delivered');
  if (o.targets.length !== range.count) bad(`${o.targets.length} targets for ${range.count} samples`);
  const expected = p.methods.map(methodSpecOf).flatMap((m) => p.metrics.map((metric) => `${m.id} × ${metric}`));
  const got = o.cells.map((c) => `${c.method} × ${c.metric}`);
  if (got.join('\n') !== expected.join('\n')) bad(`cells [${got.join(', ')}] instead of [${expected.join(', ')}]`);
  for (const c of o.cells) if (!Array.isArray(c.scores) || c.scores.length !== range.count) bad(`${c.method} × ${c.metric} has ${c.scores?.length ?? 0} scores for ${range.count} samples`);
  return o;
}

/**
 * Merges shard outcomes (in shard order) into the job's outcome: scores, targets and NaN reasons concatenated or
 * added, mean/std/n recomputed over all samples exactly as the in-process run summarises them.
 */
export function mergeEvaluation(p: EvaluateParams & { shardSize?: number }, outcomes: readonly EvaluationOutcome[]): EvaluationOutcome {
  const first = outcomes[0];
  if (!first) throw new InvalidArgumentError('outcome', 'an evaluation without shards has nothing to merge');
  const n = outcomes.reduce((s, o) => s + o.targets.length, 0);
  const num = (v: number): number | null => (Number.isFinite(v) ? v : null);
  const cells = first.cells.map((c, ci) => {
    const scores = outcomes.flatMap((o) => o.cells[ci]!.scores);
    const s = summarise(Float64Array.from(scores, (v) => (v === null ? Number.NaN : v)));
    const nanReasons: Record<string, number> = {};
    for (const o of outcomes) for (const [why, count] of Object.entries(o.cells[ci]!.nanReasons)) nanReasons[why] = (nanReasons[why] ?? 0) + count;
    return { method: c.method, metric: c.metric, mean: num(s.mean), std: num(s.std), n: s.valid, scores, nanReasons };
  });
  // Accuracy per shard is correct/count; the counts are recovered exactly (count ≤ 10,000).
  const correct = outcomes.every((o) => o.accuracy !== undefined) ? outcomes.reduce((s, o) => s + Math.round(o.accuracy! * o.targets.length), 0) : undefined;
  const timing = { ...first.timing };
  for (const o of outcomes.slice(1)) for (const k of Object.keys(timing) as (keyof typeof timing)[]) timing[k] += o.timing[k];
  return {
    methods: first.methods,
    metrics: first.metrics,
    cells,
    targets: outcomes.flatMap((o) => o.targets),
    ...(correct !== undefined ? { accuracy: correct / n } : {}),
    timing,
    provenance: {
      ...first.provenance,
      indices: p.indices,
      samples: n,
      shape: [n, ...first.provenance.shape.slice(1)],
      seed: p.seed,
      sharding: { shardSize: p.shardSize ?? first.targets.length, shards: outcomes.length },
    },
  };
}

export function evaluateShards(deps: EvaluateDeps): ShardableKind<EvaluateParams> {
  return {
    // An evaluation shard is a whole batch of every metric: larger shards keep batch-normalising metrics close to
    // the in-process run and amortise each shard's per-method warm-up.
    defaultShardSize: 64,
    items: (p) => p.indices.length,
    needs: (p) => ({
      modelSha256: p.modelId,
      dataset: { name: p.dataset, sha256: deps.datasets.sha256(p.dataset) },
      ...(p.masks && 'artefact' in p.masks ? { artefacts: [p.masks.artefact] } : {}),
    }),
    work: evaluateWork,
    async persist(job, range, output, worker) {
      const outcome = checkOutcome(job.params as EvaluateParams, range, output.outcome);
      return deps.store.saveShard({ jobId: job.id, index: range.index, size: range.count, outcome, worker, createdAt: new Date().toISOString() }, []);
    },
    merge: (p, outcomes) => mergeEvaluation(p, outcomes as EvaluationOutcome[]),
  };
}
