/** A loaded dataset: what loaders (dataset.ts) produce and masks, evaluation and jobs consume. */
export interface Dataset {
  /** Model inputs, [n, ...] row-major. */
  x: Float32Array;
  shape: number[];
  /** Class label per sample, when known. */
  labels?: Int32Array;
  /** Binary (0/1) masks with the shape of x, when given. */
  masks?: Float32Array;
  /** Inputs scaled to [0, 1] before mean/std (IDX and image sources only), same shape as x. */
  intensity?: Float32Array;
  /** One name per sample (file name or index). */
  names: string[];
  /** Where it came from, for reports. */
  source: string;
}
