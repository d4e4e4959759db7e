/**
 * Every registered metric on a real CNN through ONNX Runtime (vggish, 3×32×32, gradient × input), with small
 * parameters: each returns one score per sample — finite, or NaN with a reason — and randomised metrics repeat
 * exactly under the same seed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../src/metrics/index.js';
import type { ExplainFn, MetricInput, MetricParams, ModelHandle, ScoreFn } from '../../src/metrics/types.js';
import { readModel } from '../../src/onnx/file.js';
import { toFloat32 } from '../../src/io/npy.js';
import { readNpy } from '../../src/io/npy-file.js';
import { ortHandle } from './helpers.js';

const SMALL: Record<string, MetricParams> = {
  'faithfulness-correlation': { nrRuns: 10, subsetSize: 64 },
  'faithfulness-estimate': { featuresInStep: 256 },
  'pixel-flipping': { featuresInStep: 256 },
  'region-perturbation': { regionsEvaluation: 5 },
  selectivity: {},
  monotonicity: { featuresInStep: 256 },
  'monotonicity-correlation': { nrSamples: 3, featuresInStep: 512 },
  'sensitivity-n': { nrSizes: 3, nrSubsets: 5 },
  irof: { nSegments: 16 },
  road: { percentStep: 20 },
  infidelity: { patchSizes: '8', nrSamples: 2 },
  'max-sensitivity': { nrSamples: 4 },
  'avg-sensitivity': { nrSamples: 4 },
  'local-lipschitz-estimate': { nrSamples: 4 },
  continuity: { nrSteps: 4, patchSize: 8 },
  'relative-input-stability': { nrSamples: 4 },
  'relative-output-stability': { nrSamples: 4 },
  'top-k-intersection': { k: 50 },
  'smooth-mprt': { nrSamples: 2 },
  'non-sensitivity': { nrSamples: 2, featuresInStep: 256 },
};

let handle: ModelHandle;
let inp: MetricInput;

beforeAll(async () => {
  handle = await ortHandle(await readModel('test/fixtures/conformance/models/vggish.onnx'));
  const x0 = await readNpy('test/fixtures/conformance/inputs/vggish.npy');
  const x = toFloat32(x0);
  const shape = x0.shape;
  const n = shape[0]!;
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  const a = await handle.explain(x, shape, y);
  const d = x.length / n;
  const s = new Float32Array(x.length);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) for (let r = 8; r < 20; r++) for (let q = 10; q < 22; q++) s[i * d + c * 1024 + r * 32 + q] = 1;
  inp = { x, shape, y, a, s };
});

describe('all metrics on vggish through ONNX Runtime', () => {
  for (const name of METRICS.keys()) {
    it(name, async () => {
      const m = METRICS.get(name)!;
      const count = { score: 0, scored: 0, explain: 0, explained: 0 };
      const score: ScoreFn = async (x, shape) => {
        count.score++;
        count.scored += shape[0]!;
        return handle.score(x, shape);
      };
      const explain: ExplainFn = async (x, shape, t) => {
        count.explain++;
        count.explained += shape[0]!;
        return handle.explain(x, shape, t);
      };
      const ctx = { model: handle, score, explain, batchSize: 32, seed: 5 };
      const r = await m.evaluate(inp, ctx, SMALL[name] ?? {});
      // Batched: no more calls than full batches plus one partial batch per phase (at most 3 phases).
      expect(count.score).toBeLessThanOrEqual(Math.ceil(count.scored / 32) + 3);
      expect(count.explain).toBeLessThanOrEqual(Math.ceil(count.explained / 32) + 3);
      expect(r.scores.length).toBe(inp.shape[0]);
      r.scores.forEach((v, i) => {
        if (Number.isNaN(v)) expect(r.reasons?.[i], `${name} sample ${i}`).toBeTruthy();
        else expect(Number.isFinite(v)).toBe(true);
      });
      if (['faithfulness-correlation', 'sensitivity-n', 'max-sensitivity', 'road', 'relative-input-stability', 'smooth-mprt'].includes(name)) {
        const again = await m.evaluate(inp, ctx, SMALL[name] ?? {});
        expect(Array.from(again.scores)).toEqual(Array.from(r.scores));
      }
    });
  }
});
