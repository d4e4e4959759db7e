import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import type { ValueInfo } from '../ir/shapes.js';
import { InvalidArgumentError } from '../errors.js';

/** A token-embedding lookup: Gather(table[vocab, hidden], ids) whose ids come from an integer graph input. */
export interface TokenEmbedding {
  /** The integer graph input holding the token ids. */
  input: string;
  node: NodeProto;
  /** The lookup's output [batch, tokens, hidden]: per-token relevance is read here. */
  output: string;
  vocabSize: number;
  hidden: number;
}

const INT_TYPES = new Set([2, 3, 4, 5, 6, 7, 12, 13]);
/** Ops that pass ids through unchanged in value (dtype casts, reshapes). */
const ID_PASSTHROUGH = new Set(['Cast', 'Reshape', 'Unsqueeze', 'Squeeze', 'Flatten', 'Identity']);

function idSource(g: Graph, t: string, depth = 0): string | undefined {
  if (g.inputs.some((i) => i.name === t)) return t;
  const p = g.producer(t);
  if (!p || depth > 6 || !ID_PASSTHROUGH.has(p.opType)) return undefined;
  return idSource(g, p.input[0]!, depth + 1);
}

/** Every token-embedding lookup on an integer graph input. */
export function findTokenEmbeddings(g: Graph, info: Map<string, ValueInfo>): TokenEmbedding[] {
  const out: TokenEmbedding[] = [];
  for (const n of g.nodes) {
    if (n.opType !== 'Gather' || (n.attribute.find((a) => a.name === 'axis')?.i ?? 0n) !== 0n) continue;
    const table = g.constant(n.input[0]!);
    if (!table || table.dims.length !== 2 || !(table.data instanceof Float32Array)) continue;
    const src = idSource(g, n.input[1]!);
    if (!src || !INT_TYPES.has(info.get(src)?.elemType ?? 0)) continue;
    out.push({ input: src, node: n, output: n.output[0]!, vocabSize: table.dims[0]!, hidden: table.dims[1]! });
  }
  return out;
}

/**
 * The lookup whose output relevance is "per token": the one on `preferred` if given, else on an input named like
 * token ids, else the largest vocabulary (word embeddings beat token-type and position tables).
 */
export function pickTokenEmbedding(all: readonly TokenEmbedding[], preferred?: string): TokenEmbedding | undefined {
  if (preferred !== undefined) {
    const hit = all.find((e) => e.input === preferred);
    if (!hit) throw new InvalidArgumentError('--token-input', `no token-embedding lookup reads graph input '${preferred}'`, all.length ? `token inputs: ${[...new Set(all.map((e) => e.input))].join(', ')}` : 'the model has no Gather on an integer input');
    return hit;
  }
  const named = all.filter((e) => /input_?ids|token_?ids|^ids$|^tokens?$/i.test(e.input));
  const pool = named.length ? named : all;
  return [...pool].sort((a, b) => b.vocabSize - a.vocabSize)[0];
}
