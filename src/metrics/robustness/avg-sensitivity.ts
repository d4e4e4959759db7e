import { sensitivityMetric } from './sensitivity.js';

/** Yeh et al. 2019: the mean relative change of the explanation under uniform input noise. */
export const avgSensitivity = sensitivityMetric('avg-sensitivity', 'mean', 'Mean relative change ‖a(x) − a(x̃)‖/‖a(x)‖ under uniform input noise (Yeh et al., 2019); lower = more robust.');
