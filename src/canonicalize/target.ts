import type { Graph } from '../ir/graph.js';
import { InvalidArgumentError } from '../errors.js';

export interface ExplainedOutput {
  /** The model output the user asked about. */
  output: string;
  /** The tensor whose scores are explained: the logits before a terminal Softmax, else the output itself. */
  scores: string;
  /** The op that was skipped (Softmax/LogSoftmax), if any. */
  skipped?: string;
}

/**
 * LRP explains scores, not probabilities: a Softmax at the very end would spread relevance over every class. By
 * default the explained tensor is therefore the Softmax's input; `explainProbabilities` keeps the output as is.
 */
export function resolveExplainedOutput(g: Graph, outputName?: string, explainProbabilities = false): ExplainedOutput {
  const outputs = g.outputs.map((o) => o.name);
  const output = outputName ?? outputs[0];
  if (!output || !outputs.includes(output)) {
    throw new InvalidArgumentError('--output', `model has no output '${outputName}'`, `outputs are: ${outputs.join(', ')}`);
  }
  if (explainProbabilities) return { output, scores: output };
  const p = g.producer(output);
  if (p && (p.opType === 'Softmax' || p.opType === 'LogSoftmax')) return { output, scores: p.input[0]!, skipped: p.opType };
  return { output, scores: output };
}
