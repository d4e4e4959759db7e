/**
 * CRP conditions (Concept Relevance Propagation, Achtibat et al. 2023): which channels of which layers relevance is
 * restricted to, from the highest layer (nearest the output) to the lowest. The `crp` method takes one condition as
 * its `conditions` parameter (text, parsed here); concept analyses evaluate many at once. Browser-clean.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Tensor } from '../runtime/tensor.js';

/** One conditioned layer: the tensor (a layer output with channels on axis 1) and the channels kept there. */
export interface ConditionLayer {
  tensor: string;
  channels: readonly number[];
}

/** A CRP condition: conditioned layers from the highest (nearest the output) to the lowest. */
export type Condition = readonly ConditionLayer[];

/** The written form: `tensor:c1,c2;lower:c3` — layers joined by ';' (highest first), channels by ','. */
export const CONDITIONS_SYNTAX = 'tensor:channel,channel;lower_tensor:channel (highest layer first)';

/** Parses `tensor:c1,c2;lower:c3` into a condition; `arg` names the parameter in errors. */
export function parseConditions(text: string, arg = 'conditions'): Condition {
  const layers = text.split(';').map((s) => s.trim()).filter(Boolean);
  if (!layers.length) throw new InvalidArgumentError(arg, 'no conditioned layer given', `write ${CONDITIONS_SYNTAX}`);
  return layers.map((l) => {
    const at = l.lastIndexOf(':');
    if (at <= 0) throw new InvalidArgumentError(arg, `'${l}' is not of the form tensor:channels`, `write ${CONDITIONS_SYNTAX}`);
    const tensor = l.slice(0, at).trim();
    const channels = l
      .slice(at + 1)
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean)
      .map((c) => {
        const n = Number(c);
        if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(arg, `'${c}' (layer '${tensor}') is not a channel index`, 'channels are whole numbers from 0');
        return n;
      });
    if (!channels.length) throw new InvalidArgumentError(arg, `no channels given for '${tensor}'`, `write ${CONDITIONS_SYNTAX}`);
    return { tensor, channels };
  });
}

/** The written form of a condition (provenance, cache keys): the inverse of parseConditions. */
export function formatConditions(c: Condition): string {
  return c.map((l) => `${l.tensor}:${l.channels.join(',')}`).join(';');
}

/** Every channel of a condition exists in its layer (channel counts from the compiled CRP graph). */
export function validateChannels(c: Condition, channelsOf: Readonly<Record<string, number>>, index: number): void {
  for (const l of c) {
    const n = channelsOf[l.tensor]!;
    if (l.channels.length === 0) throw new InvalidArgumentError('conditions', `condition ${index}: no channels given for '${l.tensor}'`);
    for (const ch of l.channels) {
      if (!Number.isInteger(ch) || ch < 0 || ch >= n) throw new InvalidArgumentError('conditions', `condition ${index}: channel ${ch} of '${l.tensor}' is out of range (it has ${n} channels, 0–${n - 1})`);
    }
  }
}

/** What the conditional-relevance hook (CRP) returns for one condition. */
export interface ConditionalItem {
  condition: Condition;
  /** Input relevance of this condition, shaped like the input [B, …]. */
  heatmap: Tensor;
  /** Per conditioned tensor: relevance per channel (summed over space) before that tensor's own mask, B·C values. */
  channelRelevance: Record<string, Float32Array>;
  /** Per recorded tensor: relevance per channel, B·C values. */
  recordRelevance: Record<string, Float32Array>;
}
