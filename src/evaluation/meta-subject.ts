/** The meta-evaluation's MetaSubject on ONNX Runtime: one OrtModel and a list of explanation methods. */
import type { MetaSubject } from '../metrics/meta/run.js';
import type { LabelledMethod } from './methods.js';
import type { OrtModel } from './ort-model.js';

/**
 * Noisy copies are warmed (explainers compiled, sessions created) as soon as they exist, once the subject has seen
 * an input shape, so the time of the meta-evaluation splits cleanly into setup and ORT runs.
 */
export function ortMetaSubject(model: OrtModel, methods: readonly LabelledMethod[], sampleShape?: readonly number[]): MetaSubject {
  const explainers = methods.map((m) => model.explainFn(m));
  let shape = sampleShape;
  return {
    predict: (x, s) => {
      shape ??= s;
      return model.predict(x, s);
    },
    explain: (m, x, s, targets) => {
      shape ??= s;
      return explainers[m]!(x, s, targets);
    },
    context: (m) => ({ score: model.score, explain: explainers[m], model: model.handle(methods[m]!), batchSize: model.batchSize }),
    withWeightNoise: async (std, seed) => {
      const noisy = await model.withWeightNoise({ std, seed, type: 'multiplicative', mean: 1 });
      if (shape) await noisy.warm(methods, shape);
      return ortMetaSubject(noisy, methods, shape);
    },
  };
}
