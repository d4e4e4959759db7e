import { relativeStabilityMetric } from './relative-stability.js';

/** Agarwal et al. 2022: explanation change relative to the change of the logits. */
export const relativeOutputStability = relativeStabilityMetric('relative-output-stability', 'output', 'Largest ‖Δa/a‖ / ‖Δh/h‖ (h = logits) under input noise that keeps the prediction (Agarwal et al., 2022); lower = more stable.');
