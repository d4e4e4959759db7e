/**
 * `concept-references` on the queue (`xsys serve --queue`): a shard is a range of the dataset's samples; a worker
 * collects its statistics (collectRange) and delivers the partial state; the server merges the states in shard order
 * (mergeStates: top-k lists under a total order, per-class sums added in range order) and writes the references file
 * the in-process job would have written. With the default shard size (the in-process job's chunk) the file's state is
 * bit-identical to the in-process run's.
 */
import { InvalidArgumentError } from '../errors.js';
import { collectRange, mergeStates, stateFromJson, stateToJson, StatisticsEngine, type ReferenceSpec, type ReferenceStateJson, type SampleSource } from '../concepts/references.js';
import { referenceProvenance, sourceFingerprint, writeReferences } from '../concepts/store.js';
import type { ModelExplainer } from '../methods/explainer.js';
import type { ConceptService } from '../services/concept-service.js';
import type { DatasetRegistry } from '../services/datasets.js';
import type { Store } from '../store/types.js';
import type { ShardableKind, ShardDataset, ShardRange, ShardWork } from './shardable.js';

export interface ConceptReferencesParams extends Record<string, unknown> {
  modelId: string;
  dataset: string;
  layers: string[];
  k: number;
  composite: string;
  targets: 'prediction' | 'label';
  /** The reference set this job writes. */
  referenceSet: string;
}

/** Samples per ORT run, as the in-process job. */
export const REFERENCE_BATCH = 32;
/** Samples per saved chunk of the in-process job, and per shard on the queue: the same ranges give the same sums. */
export const REFERENCE_CHUNK = 256;

export type ConceptReferencesDeps = { store: Store; datasets: DatasetRegistry; concepts: ConceptService };

export const referenceSpecOf = (p: ConceptReferencesParams): ReferenceSpec => ({ layers: p.layers, k: p.k, composite: p.composite, targets: p.targets, absNorm: true });

// A worker keeps one explainer per model; the statistics graph of each spec is compiled once for it, not per shard.
const engines = new WeakMap<ModelExplainer, Map<string, Promise<StatisticsEngine>>>();

function engineFor(explainer: ModelExplainer, spec: ReferenceSpec, threads?: number): Promise<StatisticsEngine> {
  let bySpec = engines.get(explainer);
  if (!bySpec) engines.set(explainer, (bySpec = new Map()));
  // The targets are part of the key: a prediction-targets graph seeds itself, a label-targets graph takes a seed.
  const key = JSON.stringify([spec.layers, spec.composite, spec.targets, threads]);
  let p = bySpec.get(key);
  if (!p) {
    p = StatisticsEngine.create(explainer.model, spec, threads);
    bySpec.set(key, p);
    p.catch(() => bySpec.delete(key));
  }
  return p;
}

/** A worker's dataset (samples fetched by hash) as a sample source. */
export function shardSource(ds: ShardDataset): SampleSource {
  const first = ds.sample(0);
  const sampleShape = first.dims.slice(1);
  const per = first.data.length;
  return {
    size: ds.count,
    sampleShape,
    batch: (start, count) => {
      const data = new Float32Array(per * count);
      for (let i = 0; i < count; i++) data.set(ds.sample(start + i).data, i * per);
      return { data, dims: [count, ...sampleShape] };
    },
    label: (i) => {
      const l = ds.label(i);
      if (l === undefined) throw new InvalidArgumentError('targets', `sample ${i} of dataset '${ds.name}' has no label; use targets 'prediction'`);
      return l;
    },
  };
}

/** The worker half: the statistics of samples range.start … range.start+count−1. */
export const conceptReferencesWork: ShardWork<ConceptReferencesParams> = async (env, p, range) => {
  const spec = referenceSpecOf(p);
  const engine = await engineFor(await env.model(), spec, env.threads);
  const source = shardSource(await env.dataset());
  let reported = 0;
  const state = await collectRange(engine, source, spec, range.start, range.start + range.count, {
    batch: REFERENCE_BATCH,
    signal: env.signal,
    onBatch: (done) => {
      for (; reported < done; reported++) env.itemDone();
    },
  });
  return { items: [], outcome: stateToJson(state) as unknown as Record<string, unknown> };
};

function checkOutcome(p: ConceptReferencesParams, range: ShardRange, raw: Record<string, unknown> | undefined): ReferenceStateJson {
  const o = raw as ReferenceStateJson | undefined;
  const bad = (why: string): never => {
    throw new InvalidArgumentError('outcome', `shard ${range.index} of the concept references: ${why}`);
  };
  if (!o || !Array.isArray(o.ranges) || typeof o.layers !== 'object' || o.layers === null) return bad('no statistics were delivered');
  if (JSON.stringify(o.ranges) !== JSON.stringify([[range.start, range.start + range.count]])) bad(`it covers samples ${JSON.stringify(o.ranges)}, not [${range.start}, ${range.start + range.count})`);
  const layers = Object.keys(o.layers).sort();
  if (layers.join('\n') !== [...p.layers].sort().join('\n')) bad(`layers [${layers.join(', ')}] instead of [${p.layers.join(', ')}]`);
  // Parsing checks the top-k lists' structure.
  stateFromJson(o);
  return o;
}

export function conceptReferencesShards(deps: ConceptReferencesDeps): ShardableKind<ConceptReferencesParams> {
  return {
    defaultShardSize: REFERENCE_CHUNK,
    items: (p) => deps.datasets.summaryOf(p.dataset).count,
    needs: (p) => ({ modelSha256: p.modelId, dataset: { name: p.dataset, sha256: deps.datasets.sha256(p.dataset) } }),
    work: conceptReferencesWork,
    async persist(job, range, output, worker) {
      const outcome = checkOutcome(job.params as ConceptReferencesParams, range, output.outcome);
      return deps.store.saveShard({ jobId: job.id, index: range.index, size: range.count, outcome: outcome as unknown as Record<string, unknown>, worker, createdAt: new Date().toISOString() }, []);
    },
    async merge(p, outcomes) {
      const state = mergeStates(outcomes.map((o) => stateFromJson(o as unknown as ReferenceStateJson)));
      const source = deps.concepts.source(p.dataset);
      // The same dataset fingerprint as an in-process build, so either file is read back the same way.
      const provenance = referenceProvenance({ modelSha256: p.modelId, datasetSha256: sourceFingerprint(source), datasetSize: source.size, datasetName: p.dataset, spec: referenceSpecOf(p) });
      await deps.concepts.ensureDir();
      const file = await writeReferences(deps.concepts.path(p.referenceSet), provenance, state);
      return { referenceSet: p.referenceSet, processed: file.processed, complete: file.complete };
    },
  };
}
