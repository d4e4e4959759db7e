import type { Graph } from '../ir/graph.js';
import { inferShapes, type ValueInfo } from '../ir/shapes.js';
import { findActivationRegions } from './activations.js';
import { explicitPads } from './explicit-pads.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { normalizeGemm } from './normalize-gemm.js';
import { removeIdentity } from './remove-identity.js';
import type { ActivationRegion, Canonicalizer, CanonReport } from './types.js';

export const CANONICALIZERS: readonly Canonicalizer[] = [removeIdentity, foldBatchNorm, normalizeGemm, explicitPads];

export interface CanonicalForm {
  info: Map<string, ValueInfo>;
  regions: ActivationRegion[];
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
  const regions = options.skip?.includes('activations') ? [] : findActivationRegions(g, info);
  for (const r of regions) reports.push({ canonicalizer: 'activations', node: r.nodes.map((n) => n.name).join('+'), detail: `${r.name} of '${r.input}'` });
  return { info, regions, reports };
}

export type { ActivationRegion, Canonicalizer, CanonReport } from './types.js';
export { resolveExplainedOutput } from './target.js';
