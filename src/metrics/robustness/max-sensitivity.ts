import { sensitivityMetric } from './sensitivity.js';

/** Yeh et al. 2019: the largest relative change of the explanation under uniform input noise. */
export const maxSensitivity = sensitivityMetric('max-sensitivity', 'max', 'Largest relative change ‖a(x) − a(x̃)‖/‖a(x)‖ under uniform input noise (Yeh et al., 2019); lower = more robust.');
