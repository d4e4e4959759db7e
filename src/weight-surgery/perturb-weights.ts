/**
 * Model-parameter perturbation on ONNX weights, as MetaQuantus' model perturbation test does it on a torch model:
 * every parameter w becomes w · ε with ε ~ N(mean, σ) drawn per element ('multiplicative', MetaQuantus' choice), or
 * w + ε with ε ~ N(mean, σ) ('additive').
 *
 * "Parameter" = every float32 initializer, except BatchNormalization's running mean and variance: torch keeps those
 * as buffers, not parameters, so MetaQuantus never perturbs them (and a multiplied variance can turn negative).
 * The noise comes from mulberry32(seed) in initializer order, so the same seed gives the same model.
 */

/**
 * Fills `out` with standard normal samples by Box–Muller, using both values of each pair (cos and sin): a
 * perturbed copy of a model needs one sample per parameter, and the transcendental calls are its main cost.
 */
export function fillGaussian(out: Float32Array | Float64Array, rand: () => number): void {
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12)));
    const theta = 2 * Math.PI * rand();
    out[i] = r * Math.cos(theta);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(theta);
  }
}
import type { ModelProto } from 'onnx-buf';
import { InvalidArgumentError } from '../errors.js';
import { cloneModel } from '../onnx/model.js';
import { DataType, decodeTensor, floatTensor } from '../onnx/tensor.js';
import { mulberry32 } from '../seeded-random.js';

export interface WeightNoise {
  /** Standard deviation σ of the noise. */
  std: number;
  /** Mean of the noise: 1 for multiplicative (MetaQuantus), 0 for additive. */
  mean?: number;
  type?: 'multiplicative' | 'additive';
  seed?: number;
}

/** Names of the float initializers that count as parameters (see the module comment). */
export function parameterNames(model: ModelProto): string[] {
  const graph = model.graph!;
  const statistics = new Set<string>();
  for (const node of graph.node) {
    if (node.opType === 'BatchNormalization') {
      if (node.input[3]) statistics.add(node.input[3]);
      if (node.input[4]) statistics.add(node.input[4]);
    }
  }
  return graph.initializer.filter((t) => t.dataType === DataType.FLOAT && !statistics.has(t.name)).map((t) => t.name);
}

/** A copy of `model` with noisy parameters; the input model is not modified. */
export function perturbWeights(model: ModelProto, noise: WeightNoise): { model: ModelProto; perturbed: string[] } {
  const type = noise.type ?? 'multiplicative';
  const mean = noise.mean ?? (type === 'multiplicative' ? 1 : 0);
  if (!(Number.isFinite(noise.std) && noise.std > 0)) throw new InvalidArgumentError('std', `weight noise σ must be positive, got ${noise.std}`, "MetaQuantus' defaults: σ = 0.001 (noise resilience), 2.0 (adversary reactivity)");
  if (type !== 'multiplicative' && type !== 'additive') throw new InvalidArgumentError('type', `noise type must be 'multiplicative' or 'additive', got '${String(type)}'`);
  const copy = cloneModel(model);
  const names = new Set(parameterNames(copy));
  const rand = mulberry32(noise.seed ?? 0);
  const graph = copy.graph!;
  const perturbed: string[] = [];
  graph.initializer = graph.initializer.map((t) => {
    if (!names.has(t.name)) return t;
    const c = decodeTensor(t);
    const w = new Float32Array(c.data as Float32Array);
    const z = new Float64Array(w.length);
    fillGaussian(z, rand);
    for (let i = 0; i < w.length; i++) {
      const e = mean + noise.std * z[i]!;
      w[i] = type === 'multiplicative' ? w[i]! * e : w[i]! + e;
    }
    perturbed.push(t.name);
    return floatTensor(t.name, w, c.dims);
  });
  return { model: copy, perturbed };
}
