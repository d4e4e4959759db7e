import { defineMetric } from '../core/define.js';
import { boolParam, choiceParam, numParam } from '../core/params.js';
import { sampleOf } from '../core/input.js';
import { baselineFor } from '../core/baseline.js';
import { classScore, scoreTargets, scoreSamples } from '../core/batching.js';
import { curveScore } from '../core/curves.js';
import { layoutOf, overlaps, patchIndices, rectSum, slidingPatches, summedArea, type Patch } from '../core/spatial.js';
import { shuffle } from '../core/sample.js';

/**
 * Samek et al. 2016: rank patches of `patchSize` at every position by their attribution sum ('morf': most
 * relevant first, 'lerf': least, 'random'), keep the first `regionsEvaluation` that do not overlap a kept one, and
 * remove them cumulatively; the curve holds f(x) − f(x̃) after each removal (AOPC).
 */
export const regionPerturbation = defineMetric({
  name: 'region-perturbation',
  category: 'faithfulness',
  direction: 'higher',
  needs: { score: true },
  description: 'f(x) − f(x̃) as the most relevant patches are removed cumulatively (Samek et al., 2016); area under that curve, higher = better.',
  // Quantus' RegionPerturbation normalises with normalise_by_negative (its normalise_func default).
  normaliseFunc: 'negative',
  defaults: { normalise: 'negative', abs: false, patchSize: 8, order: 'morf', regionsEvaluation: 100, baseline: 'black', softmax: true, return: 'auc-trapezoid' },
  async compute(p, ctx, params, out, rand) {
    const size = numParam('region-perturbation', params, 'patchSize', { min: 1, integer: true });
    const regions = numParam('region-perturbation', params, 'regionsEvaluation', { min: 1, integer: true });
    const order = choiceParam('region-perturbation', params, 'order', ['morf', 'lerf', 'random'] as const);
    const softmax = boolParam('region-perturbation', params, 'softmax');
    const layout = layoutOf(p.shape);
    const candidates = slidingPatches('region-perturbation', layout, size);
    const chosen: Patch[][] = [];
    for (let i = 0; i < p.n; i++) {
      const table = summedArea(sampleOf(p.a, i, p.d), layout);
      const sums = candidates.map((c) => rectSum(table, layout.W, c));
      let ranked = Int32Array.from(candidates.keys());
      if (order === 'random') shuffle(ranked, rand);
      // Ascending with ties by position, reversed for morf (numpy's argsort(...)[::-1]).
      else {
        ranked.sort((u, v) => sums[u]! - sums[v]! || u - v);
        if (order === 'morf') ranked = ranked.reverse();
      }
      const kept: Patch[] = [];
      for (const c of ranked) {
        if (kept.length >= regions) break;
        if (!kept.some((k) => overlaps(k, candidates[c]!))) kept.push(candidates[c]!);
      }
      chosen.push(kept);
    }
    const offsets = [0];
    for (const k of chosen) offsets.push(offsets[offsets.length - 1]! + k.length);
    const base = await scoreSamples('region-perturbation', ctx, p.x, p.shape);
    const baselines = Array.from({ length: p.n }, (_, i) => baselineFor('region-perturbation', params.baseline!, sampleOf(p.x, i, p.d), rand));
    const running = new Float32Array(p.d);
    let sample = 0;
    const rows = await scoreTargets('region-perturbation', ctx, p.shape.slice(1), offsets[p.n]!, (k, dst) => {
      while (k >= offsets[sample + 1]!) sample++;
      const t = k - offsets[sample]!;
      if (t === 0) running.set(sampleOf(p.x, sample, p.d));
      for (const j of patchIndices(layout, chosen[sample]![t]!)) running[j] = baselines[sample]![j]!;
      dst.set(running);
      return p.y[sample]!;
    }, softmax);
    for (let i = 0; i < p.n; i++) {
      const y0 = classScore(base, i, p.y[i]!, softmax);
      const curve = Float64Array.from({ length: chosen[i]!.length }, (_, t) => y0 - rows[offsets[i]! + t]!);
      out.curve(i, curve);
      out.set(i, curveScore('region-perturbation', params, curve));
    }
  },
});
