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
  // Look through reshapes after the Softmax (old-opset exports wrap it in Flatten/Reshape).
  let p = g.producer(output);
  // Bounded by the node count: each step moves to an earlier node of the (acyclic, sorted) graph.
  for (let steps = 0; p && steps < g.nodes.length && ['Reshape', 'Flatten', 'Identity', 'Squeeze', 'Unsqueeze'].includes(p.opType) && g.consumers(p.input[0]!).length === 1; steps++) p = g.producer(p.input[0]!);
  if (p && (p.opType === 'Softmax' || p.opType === 'LogSoftmax')) {
    // For an old-opset Softmax, the logits are the input of the Flatten the upgrade inserted.
    const q = g.producer(p.input[0]!);
    const scores = q && q.opType === 'Flatten' && g.consumers(q.output[0]!).length === 1 && q.name.endsWith('_flatten') ? q.input[0]! : p.input[0]!;
    return { output, scores, skipped: p.opType };
  }
  return { output, scores: output };
}
