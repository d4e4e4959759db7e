import type { Tensor } from '../runtime/tensor.js';
import type { MethodName } from './registry.js';
import type { Target } from './session.js';
import type { Condition } from './conditions.js';
import type { Region } from '../compiler/region.js';
import type { Composite } from '../composites/types.js';

// The method names come from the registry (one file per method, src/methods/registry.ts).
export { METHOD_NAMES, type MethodName } from './registry.js';

/** What to explain: a class index per sample, one index for all, or 'pred' (the arg-max of the scores). */
export type { Target } from './session.js';

/**
 * A method as requests name it — the method, its LRP composite (lrp only) and its parameters: an API explain or
 * compare request, an evaluate job's methods, and (parsed from `name[:composite][(k=v,…)]`) the CLI's --methods.
 */
export interface MethodSpec {
  method: string;
  composite?: string;
  params?: Record<string, number | string>;
  /** Segmentation/detection: explain the output's sum over this region (an explain request's `region`). */
  region?: Region;
}

export interface ExplainOptions {
  method?: MethodName;
  /** lrp, crp: composite name, a path to a JSON composite, or a composite object. Default epsilon-plus-flat. */
  composite?: string | Composite;
  /**
   * Parameters of the composite (epsilon, stabilizer, gamma, low, high) or of the method, as each method declares
   * them (src/methods/<method>.ts; GET /api/methods lists them): smoothgrad: noiseLevel (0.1), samples (20), seed (0);
   * integrated-gradients: steps (20), baseline (0); occlusion: window (8), stride (4), fill (0); grad-cam: none (pass
   * `layer`).
   */
  params?: Record<string, number>;
  target?: Target;
  /** grad-cam: the tensor to explain (default: input of the last GlobalAveragePool, else of the last Flatten). */
  layer?: string;
  /** crp: the channels relevance flows through, highest layer first (`tensor:c1,c2;lower:c3` or parsed). */
  conditions?: Condition | string;
  /** Also return relevance at these intermediate tensors (lrp/gradient). */
  relevanceAt?: string[];
  /** Which model output to explain (default the first). */
  output?: string;
  /**
   * Sequence outputs ([batch, positions, classes]: a generative model's next-token scores, a CTC recogniser's
   * per-position class scores): explain the score of the target class at this position (negative: from the end);
   * 'pred' is then the arg-max at that position. Without it, single-input models explain the flattened scores
   * (the target indexes all positions × classes); models with token inputs default to the last position.
   */
  position?: number;
  /**
   * Maps as outputs (segmentation, detection; L-CRP): explain the sum of the output over this region — a channel
   * (class) on axis 1, a box on the last two axes, or both — instead of one class score. The target is then class 0.
   */
  region?: Region;
  /** Maxima raised or lowered by key (`smoothgrad.samples`, `input.elements` …; see src/methods/limits.ts). */
  limits?: Readonly<Record<string, number>>;
  /** Largest batch one ORT run may take for batched methods (SmoothGrad, IG, occlusion). Default 32. */
  maxBatch?: number;
  threads?: number;
  /** Called with (done, total) during batched methods. */
  onProgress?: (done: number, total: number) => void;
}

export interface Explanation {
  method: MethodName;
  composite?: string;
  /** Attribution for the input, same shape as the input (grad-cam: [N, 1, h, w] at the layer). */
  attribution: Tensor;
  /** The explained scores (logits) of the unperturbed input; with `position`, the rows at that position [N, classes]. */
  scores: Tensor;
  /** The explained class per sample (with `position`: the class at that position). */
  targets: number[];
  /** The position explained in a sequence output, when one was asked for (counted from the start). */
  position?: number;
  /** Relevance at requested intermediate tensors. */
  relevanceAt: Record<string, Tensor>;
  /** The region whose sum was explained (the scores are then the region score, [N, 1]). */
  region?: Region;
  timing: { compileMs: number; sessionMs: number; runMs: number };
}
