import type { ExplainFn, MetricInput, ModelHandle, ScoreFn } from '../../src/metrics/types.js';
import type { ModelProto } from '../../src/onnx/model.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { explain } from '../../src/methods/explain.js';
import { parameterisedLayers, randomiseLayers } from '../../src/weight-surgery/randomise-layers.js';
import { compensateInputShift } from '../../src/weight-surgery/input-shift.js';

/** A ScoreFn for logits = x · W (W [d, classes]) that counts its calls and inputs. */
export function linearScore(W: number[][]): ScoreFn & { calls: number; inputs: number } {
  const d = W.length;
  const C = W[0]!.length;
  const f = (async (x: Float32Array, shape: readonly number[]) => {
    f.calls++;
    const n = shape[0]!;
    f.inputs += n;
    const out = new Float32Array(n * C);
    for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j]! * W[j]![c]!;
      out[i * C + c] = s;
    }
    return out;
  }) as ScoreFn & { calls: number; inputs: number };
  f.calls = 0;
  f.inputs = 0;
  return f;
}

/** Gradient × input of the linear model: a_j = x_j · W[j, target]; counts calls. */
export function linearExplain(W: number[][]): ExplainFn & { calls: number; inputs: number } {
  const d = W.length;
  const f = (async (x: Float32Array, shape: readonly number[], targets: Int32Array) => {
    f.calls++;
    const n = shape[0]!;
    f.inputs += n;
    const out = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = x[i * d + j]! * W[j]![targets[i]!]!;
    return out;
  }) as ExplainFn & { calls: number; inputs: number };
  f.calls = 0;
  f.inputs = 0;
  return f;
}

/** The conformance fixture's weights: W[k, c] = (((5k + 7c) mod 13) − 6) / 10. */
export function fixtureWeights(d = 64, classes = 3): number[][] {
  return Array.from({ length: d }, (_, k) => Array.from({ length: classes }, (_, c) => (((5 * k + 7 * c) % 13) - 6) / 10));
}

export function input(x: number[][], a: number[][], y: number[], s?: number[][], sampleShape?: number[]): MetricInput {
  const d = x[0]!.length;
  return {
    x: Float32Array.from(x.flat()),
    a: Float32Array.from(a.flat()),
    y: Int32Array.from(y),
    s: s ? Float32Array.from(s.flat()) : undefined,
    shape: [x.length, ...(sampleShape ?? [d])],
  };
}

/** A ModelHandle on ONNX Runtime explaining with gradient × input. */
export async function ortHandle(model: ModelProto, method: 'gradient-x-input' | 'gradient' | 'lrp' = 'gradient-x-input'): Promise<ModelHandle & { explainCalls: number }> {
  const mx = await ModelExplainer.load(model);
  const h = {
    explainCalls: 0,
    layers: parameterisedLayers(model),
    score: async (x: Float32Array, shape: readonly number[]) => (await mx.scores({ data: x, dims: [...shape] })).data,
    explain: (async (x, shape, targets) => {
      h.explainCalls++;
      return (await explain(mx, { data: x, dims: [...shape] }, { method, target: Array.from(targets) })).attribution.data;
    }) as ExplainFn,
    randomised: async (layers: readonly string[], seed: number) => ortHandle(randomiseLayers(model, layers, seed), method),
    withInputShift: async (shift: number) => ortHandle(compensateInputShift(model, shift), method),
  };
  return h;
}

