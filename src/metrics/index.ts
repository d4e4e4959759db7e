/** The metric registry: every metric by its kebab-case name. */
import { InvalidArgumentError } from '../errors.js';
import type { Metric, MetricCategory } from './types.js';
import { sparseness } from './complexity/sparseness.js';
import { complexity } from './complexity/complexity.js';
import { effectiveComplexity } from './complexity/effective-complexity.js';
import { mstC } from './complexity/mst-c.js';
import { pointingGame } from './localisation/pointing-game.js';
import { attributionLocalisation } from './localisation/attribution-localisation.js';
import { topKIntersection } from './localisation/top-k-intersection.js';
import { relevanceMassAccuracy } from './localisation/relevance-mass-accuracy.js';
import { relevanceRankAccuracy } from './localisation/relevance-rank-accuracy.js';
import { auc } from './localisation/auc.js';
import { focus } from './localisation/focus.js';
import { pixelFlipping } from './faithfulness/pixel-flipping.js';
import { faithfulnessCorrelation } from './faithfulness/faithfulness-correlation.js';
import { faithfulnessEstimate } from './faithfulness/faithfulness-estimate.js';
import { regionPerturbation } from './faithfulness/region-perturbation.js';
import { selectivity } from './faithfulness/selectivity.js';
import { monotonicity } from './faithfulness/monotonicity.js';
import { monotonicityCorrelation } from './faithfulness/monotonicity-correlation.js';
import { sensitivityN } from './faithfulness/sensitivity-n.js';
import { irof } from './faithfulness/irof.js';
import { road } from './faithfulness/road.js';
import { infidelity } from './faithfulness/infidelity.js';
import { sufficiency } from './faithfulness/sufficiency.js';
import { maxSensitivity } from './robustness/max-sensitivity.js';
import { avgSensitivity } from './robustness/avg-sensitivity.js';
import { localLipschitzEstimate } from './robustness/local-lipschitz-estimate.js';
import { continuity } from './robustness/continuity.js';
import { consistency } from './robustness/consistency.js';
import { relativeInputStability } from './robustness/relative-input-stability.js';
import { relativeOutputStability } from './robustness/relative-output-stability.js';
import { mprt } from './randomisation/mprt.js';
import { smoothMprt } from './randomisation/smooth-mprt.js';
import { efficientMprt } from './randomisation/efficient-mprt.js';
import { randomLogit } from './randomisation/random-logit.js';
import { completeness } from './axiomatic/completeness.js';
import { nonSensitivity } from './axiomatic/non-sensitivity.js';
import { inputInvariance } from './axiomatic/input-invariance.js';

export * from './types.js';

const ALL: Metric[] = [
  // faithfulness
  faithfulnessCorrelation,
  faithfulnessEstimate,
  pixelFlipping,
  regionPerturbation,
  selectivity,
  monotonicity,
  monotonicityCorrelation,
  sensitivityN,
  irof,
  road,
  infidelity,
  sufficiency,
  // robustness
  maxSensitivity,
  avgSensitivity,
  localLipschitzEstimate,
  continuity,
  consistency,
  relativeInputStability,
  relativeOutputStability,
  // localisation
  pointingGame,
  attributionLocalisation,
  topKIntersection,
  relevanceMassAccuracy,
  relevanceRankAccuracy,
  auc,
  focus,
  // complexity
  sparseness,
  complexity,
  effectiveComplexity,
  mstC,
  // randomisation
  mprt,
  smoothMprt,
  efficientMprt,
  randomLogit,
  // axiomatic
  completeness,
  nonSensitivity,
  inputInvariance,
];

export const METRICS: ReadonlyMap<string, Metric> = new Map(ALL.map((m) => [m.name, m]));
export const METRIC_NAMES: readonly string[] = ALL.map((m) => m.name);

export function getMetric(name: string): Metric {
  const m = METRICS.get(name);
  if (!m) throw new InvalidArgumentError('--metric', `unknown metric '${name}'`, `metrics: ${METRIC_NAMES.join(', ')}`);
  return m;
}

export function metricsIn(category: MetricCategory): Metric[] {
  return ALL.filter((m) => m.category === category);
}
