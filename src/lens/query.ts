/**
 * The lens operations that need the foundation model's encoders: the space with its neutral-prompt baseline, text
 * and image queries, labels from a vocabulary. One place, so the CLI, the server and the jobs search alike.
 */
import { InvalidArgumentError } from '../errors.js';
import type { RasterImage } from '../render/heatmap.js';
import type { Box } from '../concepts/atlas.js';
import type { LensIndex } from './embed.js';
import type { FoundationModel } from './foundation.js';
import { labelComponents, LensSpace, MAX_VOCABULARY, search, type ComponentLabel, type SearchHit, type SearchOptions } from './search.js';

export async function spaceFor(index: LensIndex, foundation: FoundationModel): Promise<LensSpace> {
  if (index.provenance.foundation.sha256 !== foundation.fingerprint) {
    throw new InvalidArgumentError('foundation', `the lens index was embedded with '${index.provenance.foundation.name}' (${index.provenance.foundation.sha256.slice(0, 12)}…), not with '${foundation.spec.name}' (${foundation.fingerprint.slice(0, 12)}…)`, 'search with the foundation model the index was built with, or embed again');
  }
  const prompts = foundation.hasText ? foundation.spec.neutralPrompts : [];
  const neutral = prompts.length ? { data: await foundation.embedTexts(prompts), n: prompts.length } : undefined;
  return LensSpace.fromIndex(index, neutral);
}

export async function textSearch(space: LensSpace, foundation: FoundationModel, text: string, options: SearchOptions = {}): Promise<SearchHit[]> {
  return search(space, await foundation.embedTexts([text]), { ...options, calibrate: true });
}

/** A picture (or the box of one) as the query. */
export async function imageSearch(space: LensSpace, foundation: FoundationModel, image: RasterImage, box: Box | undefined, options: SearchOptions = {}): Promise<SearchHit[]> {
  return search(space, await foundation.embedImages([{ image, box }]), { ...options, calibrate: false, rankBy: 'cosine' });
}

export function parseVocabulary(list: readonly string[]): string[] {
  const v = [...new Set(list.map((s) => s.trim()).filter(Boolean))];
  if (v.length === 0 || v.length > MAX_VOCABULARY) throw new InvalidArgumentError('vocabulary', `give 1…${MAX_VOCABULARY} concepts`);
  return v;
}

export async function labelsFor(space: LensSpace, foundation: FoundationModel, vocabulary: readonly string[], threshold?: number): Promise<ComponentLabel[]> {
  const v = parseVocabulary(vocabulary);
  return labelComponents(space, v, await foundation.embedTexts(v), { threshold });
}
