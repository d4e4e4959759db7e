/**
 * LRP's sanity check: relevance is (approximately) conserved from the explained score to the input — biases and
 * stabilisers absorb some, so the input's sum is at most about the score. A sum far above it means relevance grew on the
 * way, through layers whose rule amplifies it (AttnLRP's plain gradient through convolutions with large, BatchNorm-folded
 * biases; an epsilon rule where z nearly cancels), and the map is not to be trusted as an LRP explanation.
 */
export interface Conservation {
  relevanceSum: number;
  score: number;
  /** relevanceSum / score (Infinity for a zero score with non-zero relevance). */
  ratio: number;
  warning?: string;
}

/** How many times the score the input's relevance may sum to before the explanation is flagged. */
export const CONSERVATION_LIMIT = 10;

/** The conservation of one LRP explanation (undefined for methods that do not propagate relevance). */
export function conservation(method: string, composite: string | undefined, relevanceSum: number, score: number): Conservation | undefined {
  if (method !== 'lrp' && method !== 'crp') return undefined;
  const ratio = score !== 0 ? relevanceSum / score : relevanceSum === 0 ? 0 : Infinity;
  const grew = !Number.isFinite(relevanceSum) || Math.abs(relevanceSum) > CONSERVATION_LIMIT * Math.abs(score) + 1e-6;
  if (!grew) return { relevanceSum, score, ratio };
  const times = Number.isFinite(ratio) ? `${Math.abs(ratio).toPrecision(2)}×` : 'many times';
  const warning =
    `relevance sums to ${relevanceSum.toPrecision(3)}, ${times} the explained score ${score.toPrecision(3)}: ` +
    `composite '${composite ?? 'default'}' does not conserve relevance on this model (it grows through layers whose rule amplifies it). ` +
    `\`xsys inspect <model> --composite ${composite ?? '<name>'}\` lists each layer's rule; for CNNs and CNN–transformer hybrids a CNN composite such as epsilon-plus-flat conserves it`;
  return { relevanceSum, score, ratio, warning };
}
