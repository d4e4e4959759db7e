import { relativeStabilityMetric } from './relative-stability.js';

/** Agarwal et al. 2022: explanation change relative to input change. */
export const relativeInputStability = relativeStabilityMetric('relative-input-stability', 'input', 'Largest ‖Δa/a‖ / ‖Δx/x‖ under input noise that keeps the prediction (Agarwal et al., 2022); lower = more stable.');
