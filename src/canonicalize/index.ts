import type { Graph } from '../ir/graph.js';
import { inferShapes } from '../ops/shapes.js';
import { type ValueInfo } from '../ir/shapes.js';
import { findActivationRegions } from './activations.js';
import { findNormRegions } from './normalization.js';
import { controlFlow } from './control-flow.js';
import { dequantize } from './dequantize.js';
import { explicitPads } from './explicit-pads.js';
import { foldConstants } from './fold-constants.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { normalizeGemm } from './normalize-gemm.js';
import { recurrent } from './recurrent.js';
import { removeIdentity } from './remove-identity.js';
import { stackedSum } from './stacked-sum.js';
import type { ActivationRegion, Canonicalizer, CanonReport, NormRegion } from './types.js';

export const CANONICALIZERS: readonly Canonicalizer[] = [controlFlow, dequantize, foldConstants, recurrent, removeIdentity, foldBatchNorm, normalizeGemm, explicitPads, stackedSum];

export interface CanonicalForm {
  info: Map<string, ValueInfo>;
  regions: ActivationRegion[];
  /** Decomposed LayerNorm/RMSNorm patterns (their statistics are what AttnLRP holds constant). */
  norms: NormRegion[];
  reports: CanonReport[];
}

/** Runs every canonicaliser in order, then recognises activation regions on the result. */
export function canonicalize(g: Graph, options: { skip?: readonly string[] } = {}): CanonicalForm {
  const reports: CanonReport[] = [];
  let info = inferShapes(g);
  for (const c of CANONICALIZERS) {
    if (options.skip?.includes(c.name)) continue;
    const r = c.apply(g, info);
    if (r.length) {
      reports.push(...r);
      info = inferShapes(g);
    }
  }
  const norms = options.skip?.includes('normalizations') ? [] : findNormRegions(g);
  const inNorm = new Set(norms.flatMap((r) => r.nodes));
  const regions = options.skip?.includes('activations') ? [] : findActivationRegions(g, info).filter((r) => !r.nodes.some((n) => inNorm.has(n)));
  for (const r of norms) reports.push({ canonicalizer: 'normalizations', node: r.nodes.map((n) => n.name).join('+'), detail: `${r.name} of '${r.input}' (statistic '${r.statistic}')` });
  for (const r of regions) reports.push({ canonicalizer: 'activations', node: r.nodes.map((n) => n.name).join('+'), detail: `${r.name} of '${r.input}'` });
  return { info, regions, norms, reports };
}

export type { ActivationRegion, Canonicalizer, CanonReport, NormRegion } from './types.js';
export { resolveExplainedOutput, type ExplainedOutput } from './target.js';
