import type { ModelHandle } from '../types.js';

export const LAYER_ORDERS = ['top-down', 'bottom-up', 'independent'] as const;
export type LayerOrder = (typeof LAYER_ORDERS)[number];

/**
 * The sets of layers to randomise, one per step of a model-parameter randomisation test: 'top-down' randomises
 * cumulatively from the output layer (Adebayo et al.'s cascading test, Quantus' default), 'bottom-up'
 * cumulatively from the input, 'independent' one layer at a time. Each step is labelled by the layer it adds.
 */
export function layerSteps(model: ModelHandle, order: LayerOrder): { label: string; layers: string[] }[] {
  const layers = [...model.layers];
  if (order === 'independent') return layers.map((l) => ({ label: l, layers: [l] }));
  const seq = order === 'top-down' ? layers.reverse() : layers;
  return seq.map((l, k) => ({ label: l, layers: seq.slice(0, k + 1) }));
}
