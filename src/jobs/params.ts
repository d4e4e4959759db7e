import { InvalidArgumentError } from '../errors.js';
import type { DatasetRegistry } from '../services/datasets.js';
import type { ModelService } from '../services/models.js';
import { isSha256 } from '../store/ids.js';

/** The model and dataset every dataset job names: the model must be stored, the dataset known. */
export async function jobModelAndDataset(raw: Record<string, unknown>, deps: { models: ModelService; datasets: DatasetRegistry }): Promise<{ modelId: string; dataset: string; size: number }> {
  const modelId = String(raw.modelId ?? '');
  if (!isSha256(modelId)) throw new InvalidArgumentError('modelId', 'must be a model id (64 hex digits)');
  await deps.models.get(modelId);
  const dataset = String(raw.dataset ?? '');
  return { modelId, dataset, size: deps.datasets.summaryOf(dataset).count };
}
