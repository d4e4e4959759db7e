/**
 * Searching the semantic space of components (SemanticLens): a query embedding — a text's, or a picture region's —
 * against every component embedding, ranked by cosine. Text scores are also *calibrated* against neutral prompts
 * ("a picture", "an image", …): calibrated = cos(query, c) − mean over neutral prompts of cos(neutral, c), so a
 * component that is close to every text (the tiny model's and CLIP's "generic" directions) does not look like a
 * match for everything. Automatic labels are the vocabulary entry with the best calibrated score per component, with
 * its margin over the runner-up, and no label below a threshold.
 *
 * The component matrix is one Float32Array [n, dim], so a search over 10,000 components is one pass over 1.3 MB.
 */
import { InvalidArgumentError } from '../errors.js';
import type { LensIndex } from './embed.js';

export interface ComponentRef {
  layer: string;
  channel: number;
}

/** The components of an index as one matrix, with their neutral-prompt baseline when known. */
export class LensSpace {
  readonly n: number;
  readonly d: number;
  readonly matrix: Float32Array;
  readonly refs: ComponentRef[];
  readonly clarity: Float32Array;
  /** Per component: mean cosine with the neutral prompts (0 when none were given). */
  readonly baseline: Float32Array;

  constructor(components: readonly { layer: string; channel: number; embedding: ArrayLike<number>; clarity?: number }[], d: number, neutral?: { data: Float32Array; n: number }) {
    this.n = components.length;
    this.d = d;
    this.matrix = new Float32Array(this.n * d);
    this.refs = components.map((c) => ({ layer: c.layer, channel: c.channel }));
    this.clarity = Float32Array.from(components, (c) => c.clarity ?? 0);
    components.forEach((c, i) => {
      if (c.embedding.length !== d) throw new InvalidArgumentError('embedding', `component ${c.layer} #${c.channel} has ${c.embedding.length} values, the space has ${d}`);
      for (let j = 0; j < d; j++) this.matrix[i * d + j] = c.embedding[j]!;
    });
    this.baseline = new Float32Array(this.n);
    if (neutral && neutral.n > 0) {
      const mean = new Float32Array(d);
      for (let k = 0; k < neutral.n; k++) for (let j = 0; j < d; j++) mean[j]! += neutral.data[k * d + j]! / neutral.n;
      this.baseline.set(this.cosines(mean));
    }
  }

  static fromIndex(index: LensIndex, neutral?: { data: Float32Array; n: number }): LensSpace {
    return new LensSpace(index.components, index.provenance.foundation.dim, neutral);
  }

  /** cos(q, c) for every component (q and the components are unit vectors). */
  cosines(q: ArrayLike<number>): Float32Array {
    if (q.length !== this.d) throw new InvalidArgumentError('query', `the query embedding has ${q.length} values, the space has ${this.d}`);
    const out = new Float32Array(this.n);
    const m = this.matrix;
    const d = this.d;
    for (let i = 0; i < this.n; i++) {
      let s = 0;
      const o = i * d;
      for (let j = 0; j < d; j++) s += m[o + j]! * q[j]!;
      out[i] = s;
    }
    return out;
  }
}

export interface SearchHit extends ComponentRef {
  rank: number;
  cosine: number;
  /** cosine − the component's mean cosine with the neutral prompts (text queries; equal to cosine for images). */
  calibrated: number;
  clarity: number;
}

export interface SearchOptions {
  top?: number;
  /** Only components of these layers. */
  layers?: readonly string[];
  /** Rank by raw cosine (default) or by the calibrated score. */
  rankBy?: 'cosine' | 'calibrated';
}

export const MAX_SEARCH_TOP = 1000;

/** Ranks the components against a unit query embedding. `calibrate` subtracts the neutral baseline. */
export function search(space: LensSpace, query: ArrayLike<number>, options: SearchOptions & { calibrate?: boolean } = {}): SearchHit[] {
  const top = options.top ?? 10;
  if (!Number.isInteger(top) || top < 1 || top > MAX_SEARCH_TOP) throw new InvalidArgumentError('top', `must be an integer in 1…${MAX_SEARCH_TOP}`);
  const rankBy = options.rankBy ?? 'cosine';
  if (rankBy !== 'cosine' && rankBy !== 'calibrated') throw new InvalidArgumentError('rankBy', "must be 'cosine' or 'calibrated'");
  const cos = space.cosines(query);
  const layers = options.layers?.length ? new Set(options.layers) : undefined;
  const cal = (i: number) => (options.calibrate ? cos[i]! - space.baseline[i]! : cos[i]!);
  const key = rankBy === 'cosine' ? (i: number) => cos[i]! : cal;
  // A bounded insertion list: top ≪ n, so this is one pass with a few comparisons per component.
  const best: number[] = [];
  for (let i = 0; i < space.n; i++) {
    if (layers && !layers.has(space.refs[i]!.layer)) continue;
    const v = key(i);
    if (best.length === top && v <= key(best[top - 1]!)) continue;
    let j = best.length < top ? best.length : top - 1;
    if (best.length < top) best.push(i);
    while (j > 0 && key(best[j - 1]!) < v) {
      best[j] = best[j - 1]!;
      j--;
    }
    best[j] = i;
  }
  return best.map((i, r) => ({ ...space.refs[i]!, rank: r + 1, cosine: round(cos[i]!), calibrated: round(cal(i)), clarity: round(space.clarity[i]!) }));
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

export interface ComponentLabel extends ComponentRef {
  /** The best label, or null when its calibrated score is below the threshold. */
  label: string | null;
  best: string;
  score: number;
  /** Best calibrated score minus the second best (0 with a one-word vocabulary). */
  margin: number;
}

export const MAX_VOCABULARY = 1000;

/**
 * Labels every component with the vocabulary entry whose text embedding has the highest calibrated score; the
 * label is null when that score is below `threshold`.
 */
export function labelComponents(space: LensSpace, vocabulary: readonly string[], textEmbeddings: Float32Array, options: { threshold?: number } = {}): ComponentLabel[] {
  const v = vocabulary.length;
  if (v === 0 || v > MAX_VOCABULARY) throw new InvalidArgumentError('vocabulary', `give 1…${MAX_VOCABULARY} concepts`);
  if (textEmbeddings.length !== v * space.d) throw new InvalidArgumentError('vocabulary', `${textEmbeddings.length / space.d} embeddings for ${v} concepts`);
  const threshold = options.threshold ?? DEFAULT_LABEL_THRESHOLD;
  if (!Number.isFinite(threshold)) throw new InvalidArgumentError('threshold', 'must be a number');
  const scores = Array.from({ length: v }, (_, k) => space.cosines(textEmbeddings.subarray(k * space.d, (k + 1) * space.d)));
  return space.refs.map((ref, i) => {
    let b = 0;
    let second = -Infinity;
    for (let k = 1; k < v; k++) {
      if (scores[k]![i]! > scores[b]![i]!) {
        second = scores[b]![i]!;
        b = k;
      } else if (scores[k]![i]! > second) second = scores[k]![i]!;
    }
    const score = scores[b]![i]! - space.baseline[i]!;
    return { ...ref, label: score >= threshold ? vocabulary[b]! : null, best: vocabulary[b]!, score: round(score), margin: v > 1 ? round(scores[b]![i]! - second) : 0 };
  });
}

/**
 * The default label threshold on the calibrated score. On the bundled aligned MNIST model a component whose crops
 * are one digit scores 0.3–0.9 for that digit's name; generic stroke fragments stay below 0.1.
 */
export const DEFAULT_LABEL_THRESHOLD = 0.1;
