import { choiceParam } from './params.js';
import { mean, trapezoid } from './stats.js';
import type { MetricParams } from '../types.js';

export const CURVE_RETURNS = ['auc-trapezoid', 'mean', 'curve'] as const;

/**
 * The scalar a curve metric reports per sample. 'auc-trapezoid': the area under the curve at unit spacing
 * (Quantus' calculate_auc); 'mean': the curve's mean (AOPC-style); 'curve': the curve is the result (it is always
 * in `curves`) and the score is its trapezoid area.
 */
export function curveScore(metric: string, params: MetricParams, curve: ArrayLike<number>): number {
  const mode = choiceParam(metric, params, 'return', CURVE_RETURNS);
  return mode === 'mean' ? mean(curve) : trapezoid(curve);
}
