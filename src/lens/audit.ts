/**
 * SemanticLens audits: a user states the concepts a class *should* rely on (valid) and those it *should not*
 * (spurious); components of a layer are labelled with those concepts (src/lens/search.ts labelComponents), and the
 * class's relevance over the reference dataset — each channel's summed relevance over the samples explained as the
 * class, kept by the reference pass (LayerState.classSum) — is split over the labels. Every channel lands in exactly
 * one group (a stated concept, another label, or unlabelled), so the groups' relevances sum to the class's relevance
 * at the layer. For spurious concepts the report names the responsible components and the dataset samples that
 * activate them most.
 */
import { InvalidArgumentError } from '../errors.js';
import { referenceSamples } from '../concepts/atlas.js';
import type { ReferenceState } from '../concepts/references.js';
import type { ComponentLabel } from './search.js';

export interface AuditSpec {
  layer: string;
  cls: number;
  should: string[];
  shouldNot: string[];
}

export interface AuditComponent {
  channel: number;
  relevance: number;
  share: number;
  /** The label's calibrated score. */
  score: number;
}

export interface AuditGroup {
  concept: string;
  kind: 'valid' | 'spurious' | 'other' | 'unlabelled';
  relevance: number;
  /** relevance / the class's total relevance at the layer. */
  share: number;
  components: AuditComponent[];
}

export interface AuditReport {
  layer: string;
  cls: number;
  /** Samples of the dataset explained as the class. */
  samples: number;
  /** Σ over channels of the class's relevance: what the groups split. */
  total: number;
  groups: AuditGroup[];
  validShare: number;
  spuriousShare: number;
  /** Components carrying spurious concepts, most relevant first, with the samples that activate them most. */
  spurious: { channel: number; concept: string; relevance: number; share: number; samples: { index: number; value: number }[] }[];
}

export const MAX_AUDIT_CONCEPTS = 64;

export function validateAuditSpec(spec: AuditSpec): void {
  const all = [...spec.should, ...spec.shouldNot];
  if (all.length === 0) throw new InvalidArgumentError('should/shouldNot', 'state at least one concept the class should or should not rely on');
  if (all.length > MAX_AUDIT_CONCEPTS) throw new InvalidArgumentError('should/shouldNot', `at most ${MAX_AUDIT_CONCEPTS} concepts`);
  if (new Set(all).size !== all.length) throw new InvalidArgumentError('should/shouldNot', 'a concept is listed twice (or both as valid and spurious)');
  if (all.some((c) => typeof c !== 'string' || !c.trim())) throw new InvalidArgumentError('should/shouldNot', 'concepts must be non-empty texts');
}

/**
 * The audit of one class at one layer from the components' labels (one per labelled channel of the layer; channels
 * without a label entry — dead units, not embedded — count as unlabelled).
 */
export function auditClass(state: ReferenceState, labels: readonly ComponentLabel[], spec: AuditSpec, options: { samples?: number } = {}): AuditReport {
  validateAuditSpec(spec);
  const L = state.layers[spec.layer];
  if (!L) throw new InvalidArgumentError('layer', `no reference samples for '${spec.layer}' (built for: ${Object.keys(state.layers).join(', ')})`);
  const sum = L.classSum.get(spec.cls);
  const count = state.classCount.get(spec.cls) ?? 0;
  if (!sum || count === 0) throw new InvalidArgumentError('class', `no sample of the reference dataset was explained as class ${spec.cls} (classes seen: ${[...state.classCount.keys()].sort((a, b) => a - b).join(', ')})`);
  let total = 0;
  for (const v of sum) total += v;
  const kindOf = (label: string | null): AuditGroup['kind'] => (label === null ? 'unlabelled' : spec.should.includes(label) ? 'valid' : spec.shouldNot.includes(label) ? 'spurious' : 'other');
  const byChannel = new Map<number, ComponentLabel>();
  for (const l of labels) if (l.layer === spec.layer) byChannel.set(l.channel, l);
  const groups = new Map<string, AuditGroup>();
  for (const c of [...spec.should, ...spec.shouldNot]) groups.set(c, { concept: c, kind: kindOf(c), relevance: 0, share: 0, components: [] });
  for (let ch = 0; ch < L.channels; ch++) {
    const l = byChannel.get(ch);
    const label = l?.label ?? null;
    const kind = kindOf(label);
    const key = kind === 'other' ? '(other labels)' : kind === 'unlabelled' ? '(unlabelled)' : label!;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { concept: key, kind, relevance: 0, share: 0, components: [] }));
    g.relevance += sum[ch]!;
    g.components.push({ channel: ch, relevance: sum[ch]!, share: total !== 0 ? sum[ch]! / total : 0, score: l?.score ?? 0 });
  }
  const out = [...groups.values()];
  for (const g of out) {
    g.share = total !== 0 ? g.relevance / total : 0;
    g.components.sort((a, b) => b.relevance - a.relevance || a.channel - b.channel);
  }
  const spurious = out
    .filter((g) => g.kind === 'spurious')
    .flatMap((g) => g.components.map((c) => ({ channel: c.channel, concept: g.concept, relevance: c.relevance, share: c.share, samples: referenceSamples(state, spec.layer, c.channel, { stat: 'activation-max', n: options.samples ?? 6 }).map((r) => ({ index: r.index, value: r.value })) })))
    .sort((a, b) => b.relevance - a.relevance || a.channel - b.channel);
  const shareOf = (kind: AuditGroup['kind']) => out.filter((g) => g.kind === kind).reduce((a, g) => a + g.share, 0);
  return { layer: spec.layer, cls: spec.cls, samples: count, total, groups: out, validShare: shareOf('valid'), spuriousShare: shareOf('spurious'), spurious };
}
