/**
 * The job kinds a worker can compute, by name: each is the worker half (ShardWork) of a shardable kind, defined next to
 * its JobHandler. A new dataset kind adds one line here.
 */
import { conceptReferencesWork } from '../jobs/concept-references-shards.js';
import { evaluateWork } from '../jobs/evaluate-shards.js';
import { explainDatasetWork } from '../jobs/explain-dataset.js';
import type { ShardWork } from '../jobs/shardable.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each kind has its own params type; the payload says which
export const WORK_KINDS: Readonly<Record<string, ShardWork<any>>> = {
  'explain-dataset': explainDatasetWork,
  evaluate: evaluateWork,
  'concept-references': conceptReferencesWork,
};
