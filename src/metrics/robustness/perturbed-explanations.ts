import type { MetricContext, MetricParams } from '../types.js';
import type { PreparedInput } from '../core/input.js';
import { sampleOf } from '../core/input.js';
import { explainMany, requireExplain } from '../core/batching.js';
import { boolParam, normaliseMode } from '../core/params.js';

/**
 * Explains `nrSamples` perturbed copies of every sample (written by `perturb(i, r, dst)`) for the sample's target,
 * in batches, and hands each re-explanation — pre-processed like the original attributions (normalise → abs;
 * 'batch' and 'sample' both divide a re-explanation by its own max |a|, since it has no batch of its own) — to
 * `consume(i, r, perturbedInput, attribution)`.
 */
export async function explainPerturbed(
  metric: string,
  p: PreparedInput,
  ctx: MetricContext,
  params: MetricParams,
  nrSamples: number,
  perturb: (i: number, r: number, dst: Float32Array) => void,
  consume: (i: number, r: number, xPerturbed: Float32Array, a: Float64Array) => void,
): Promise<void> {
  const explain = requireExplain(metric, ctx);
  const mode = normaliseMode(metric, params.normalise);
  const abs = boolParam(metric, params, 'abs');
  const inputs = new Map<number, Float32Array>();
  await explainMany(
    metric,
    explain,
    ctx,
    p.shape.slice(1),
    p.n * nrSamples,
    (k, dst) => {
      const i = Math.floor(k / nrSamples);
      perturb(i, k % nrSamples, dst);
      inputs.set(k, Float32Array.from(dst));
      return p.y[i]!;
    },
    (k, attribution) => {
      const a = Float64Array.from(attribution);
      if (mode !== 'none') {
        let m = 0;
        for (const v of a) m = Math.max(m, Math.abs(v));
        if (m > 0) for (let j = 0; j < a.length; j++) a[j] = a[j]! / m;
      }
      if (abs) for (let j = 0; j < a.length; j++) a[j] = Math.abs(a[j]!);
      consume(Math.floor(k / nrSamples), k % nrSamples, inputs.get(k)!, a);
      inputs.delete(k);
    },
  );
}

export function original(p: PreparedInput, i: number): { x: Float32Array; a: Float64Array } {
  return { x: sampleOf(p.x, i, p.d), a: sampleOf(p.a, i, p.d) };
}
