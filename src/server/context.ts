import type { JobRunner } from '../jobs/runner.js';
import type { Store } from '../store/types.js';
import type { DatasetRegistry } from '../services/datasets.js';
import type { ExplainService } from '../services/explain-service.js';
import type { ModelService } from '../services/models.js';

/** The services the routes use. */
export interface ServerContext {
  store: Store;
  models: ModelService;
  datasets: DatasetRegistry;
  explainer: ExplainService;
  jobs: JobRunner;
  maxUploadBytes: number;
}
