/** The meta-evaluation's MetaSubject on ONNX Runtime: one OrtModel and a list of explanation methods. */
import type { MetaSubject } from '../metrics/meta/run.js';
import type { MethodSpec } from './methods.js';
import type { OrtModel } from './ort-model.js';

export function ortMetaSubject(model: OrtModel, methods: readonly MethodSpec[]): MetaSubject {
  const explainers = methods.map((m) => model.explainFn(m));
  return {
    predict: (x, shape) => model.predict(x, shape),
    explain: (m, x, shape, targets) => explainers[m]!(x, shape, targets),
    context: (m) => ({ score: model.score, explain: explainers[m], model: model.handle(methods[m]!), batchSize: model.batchSize }),
    withWeightNoise: async (std, seed) => ortMetaSubject(await model.withWeightNoise({ std, seed, type: 'multiplicative', mean: 1 }), methods),
  };
}
