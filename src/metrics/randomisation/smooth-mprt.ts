import { mprtMetric } from './parameter-randomisation.js';

/** Hedström et al. 2024: MPRT on explanations averaged over noisy inputs, which removes gradient shattering noise. */
export const smoothMprt = mprtMetric('smooth-mprt', true, 'MPRT on explanations denoised by averaging over noisy inputs (Hedström et al., 2024); lower = better.');
