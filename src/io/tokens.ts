import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { FileFormatError, InvalidArgumentError } from '../errors.js';
import { type NdArray } from './npy.js';
import { readNpy } from './npy-file.js';

/**
 * Token ids from a file: a .npy of integers ([tokens] or [batch, tokens]) or a JSON list ([1, 2, 3] or
 * [[1, 2, 3], [4, 5, 6]]). Returned as an int64 array of shape [batch, tokens].
 */
export async function readTokenIds(path: string): Promise<NdArray> {
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') {
    const a = await readNpy(path);
    if (a.dtype === 'float32' || a.dtype === 'float64') throw new FileFormatError(path, `token ids must be integers, the file holds ${a.dtype}`, 'save them with numpy as int64 (.astype(np.int64))');
    if (a.shape.length > 2) throw new FileFormatError(path, `token ids must be [tokens] or [batch, tokens], not [${a.shape.join(', ')}]`);
    return { data: BigInt64Array.from(a.data as ArrayLike<number | bigint>, (v) => BigInt(v)), shape: a.shape.length === 1 ? [1, a.shape[0]!] : a.shape, dtype: 'int64' };
  }
  if (ext !== '.json') throw new InvalidArgumentError(path, 'token ids must be a .npy or .json file', 'a JSON list of ids such as [101, 2023, 102], or an integer .npy');
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new FileFormatError(path, `cannot read token ids (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return idsFromJson(value, path);
}

/** [1, 2, 3] → [1, 3]; [[…], […]] (equal lengths) → [2, n]; anything else is an error naming the file. */
export function idsFromJson(value: unknown, source: string): NdArray {
  const rows = Array.isArray(value) && value.every((v) => typeof v === 'number') ? [value as number[]] : value;
  if (!Array.isArray(rows) || !rows.length || !rows.every((r) => Array.isArray(r) && r.length && r.every((v) => Number.isInteger(v)))) {
    throw new FileFormatError(source, 'token ids must be a JSON list of integers or a list of such lists');
  }
  const list = rows as number[][];
  const n = list[0]!.length;
  if (list.some((r) => r.length !== n)) throw new FileFormatError(source, 'all id lists of a batch must have the same length', 'pad them (and pass an attention_mask) or explain them one at a time');
  return { data: BigInt64Array.from(list.flat(), (v) => BigInt(v)), shape: [list.length, n], dtype: 'int64' };
}

/** A Hugging Face tokenizer.json loaded offline, with what xsys needs of it. */
export interface TextTokenizer {
  encode(text: string): { ids: number[]; tokens: string[] };
  /** The token string of an id (as in the vocabulary, e.g. '##ly', 'Ġworld'). */
  token(id: number): string;
}

/**
 * Loads tokenizer.json (and tokenizer_config.json beside it, when present) with @huggingface/tokenizers — pure
 * JavaScript, nothing is downloaded.
 */
export async function loadTokenizer(path: string): Promise<TextTokenizer> {
  if (!existsSync(path)) throw new FileFormatError(path, 'tokenizer file not found', "pass the model's tokenizer.json (Hugging Face format), or token ids instead of text");
  const readJson = async (p: string): Promise<Record<string, unknown>> => {
    try {
      return JSON.parse(await readFile(p, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new FileFormatError(p, `not a readable JSON file (${(e as Error).message})`);
    }
  };
  const json = await readJson(path);
  const configPath = join(dirname(path), 'tokenizer_config.json');
  const config = existsSync(configPath) ? await readJson(configPath) : {};
  return tokenizerFromJson(json, config, path);
}

/** A tokenizer from the parsed tokenizer.json (and tokenizer_config.json) — e.g. one stored with a model by the service. */
export function tokenizerFromJson(json: unknown, config: Record<string, unknown> = {}, source = 'tokenizer.json'): TextTokenizer {
  if (typeof json !== 'object' || json === null || typeof (json as Record<string, unknown>).model !== 'object' || (json as Record<string, unknown>).model === null) {
    throw new FileFormatError(source, "not a Hugging Face tokenizer.json (no 'model' section)");
  }
  const obj = json as Record<string, unknown>;
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(obj, config);
  } catch (e) {
    throw new FileFormatError(source, `the tokenizer could not be built (${(e as Error).message})`);
  }
  const added = new Map<number, string>();
  for (const a of (obj.added_tokens as { id: number; content: string }[] | undefined) ?? []) added.set(a.id, a.content);
  return {
    encode(text) {
      const e = tok.encode(text);
      return { ids: e.ids, tokens: e.tokens };
    },
    token(id) {
      return added.get(id) ?? tok.model?.vocab[id] ?? `#${id}`;
    },
  };
}
