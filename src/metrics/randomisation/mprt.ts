import { mprtMetric } from './parameter-randomisation.js';

/** Adebayo et al. 2018: similarity of explanations before and after cascading layer randomisation. */
export const mprt = mprtMetric('mprt', false, 'Similarity of the explanation to those of progressively randomised models (Adebayo et al., 2018); lower = better.');
