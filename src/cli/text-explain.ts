import { writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { pickTokenEmbedding } from '../compiler/sources.js';
import { InvalidArgumentError, XsysError } from '../errors.js';
import { type NdArray } from '../io/npy.js';
import { readNpy, writeNpy } from '../io/npy-file.js';
import { idsFromJson, loadTokenizer, readTokenIds, type TextTokenizer } from '../io/tokens.js';
import type { FeedsResult } from '../methods/explain.js';
import type { ExplainSession } from '../methods/session.js';
import { tokensToAnsi, tokensToHtml, type TokenRelevance } from '../render/tokens.js';
import { defaultFeed, feedFromArray, type DeclaredInput, type Feed } from '../runtime/feeds.js';
import { argMax } from './options.js';
import { readFile } from 'node:fs/promises';

export interface TextExplainFlags {
  method: string;
  composite: string;
  param?: string[];
  target?: string;
  out: string;
  json?: boolean;
  threads?: string;
  input?: string[];
  text?: string;
  tokenizer?: string;
  position?: string;
  tokenInput?: string;
}

export interface TextSample {
  name: string;
  feeds: Record<string, Feed>;
  /** Token strings per batch row, when the text was tokenised here. */
  tokens?: string[][];
}

async function readArray(name: string, file: string): Promise<NdArray> {
  const ext = extname(file).toLowerCase();
  if (ext === '.npy') return readNpy(file);
  if (ext === '.json') {
    let v: unknown;
    try {
      v = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      throw new InvalidArgumentError('--input', `${name}=${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    return idsFromJson(v, file);
  }
  throw new InvalidArgumentError('--input', `${name}=${file}: inputs are .npy arrays or JSON lists`);
}

export interface TextSamples {
  samples: TextSample[];
  tokenizer?: TextTokenizer;
}

/**
 * The samples of `xsys explain` for text models: token ids (.npy/.json files, or --input name=file for every input)
 * or --text with a tokenizer.json, with the model's other inputs filled with their defaults (attention masks …).
 */
export async function loadTextSamples(session: ExplainSession, files: string[], flags: TextExplainFlags): Promise<TextSamples> {
  const inputs = session.inputs;
  const tokenInput = pickTokenEmbedding(session.embeddings, flags.tokenInput)?.input;
  const tokenizer: TextTokenizer | undefined = flags.tokenizer ? await loadTokenizer(flags.tokenizer) : undefined;
  if (flags.text !== undefined && !tokenizer) throw new InvalidArgumentError('--text', 'text needs a tokenizer', "pass --tokenizer path/to/tokenizer.json (the model's Hugging Face tokenizer), or give token ids instead");
  const declared = (name: string, flag: string): DeclaredInput => {
    const d = inputs.find((i) => i.name === name);
    if (!d) throw new InvalidArgumentError(flag, `the model has no input named '${name}'`, `its inputs: ${inputs.map((i) => `${i.name} (${i.dtype ?? '?'})`).join(', ')}`);
    return d;
  };
  const needTokens = (what: string): string => {
    if (!tokenInput) throw new InvalidArgumentError(what, 'the model has no token-embedding lookup to feed ids to', `give every input by name with --input (inputs: ${inputs.map((i) => i.name).join(', ')})`);
    return tokenInput;
  };

  const samples: TextSample[] = [];
  if (flags.input?.length) {
    const feeds: Record<string, Feed> = {};
    for (const item of flags.input) {
      const m = /^([^=]+)=(.+)$/.exec(item);
      if (!m) throw new InvalidArgumentError('--input', `'${item}' is not of the form name=file`);
      feeds[m[1]!] = feedFromArray(m[1]!, await readArray(m[1]!, m[2]!), declared(m[1]!, '--input'));
    }
    samples.push({ name: 'input', feeds });
  }
  for (const f of files) samples.push({ name: basename(f, extname(f)), feeds: { [needTokens(f)]: feedFromArray(needTokens(f), await readTokenIds(f), declared(needTokens(f), f)) } });
  if (flags.text !== undefined) {
    const enc = tokenizer!.encode(flags.text);
    if (!enc.ids.length) throw new InvalidArgumentError('--text', 'the text has no tokens');
    const arr: NdArray = { data: BigInt64Array.from(enc.ids, (v) => BigInt(v)), shape: [1, enc.ids.length], dtype: 'int64' };
    samples.push({ name: 'text', feeds: { [needTokens('--text')]: feedFromArray(tokenInput!, arr, declared(tokenInput!, '--text')) }, tokens: [enc.tokens] });
  }
  if (!samples.length) throw new InvalidArgumentError('inputs', 'nothing to explain', 'give token id files (.npy/.json), --text with --tokenizer, or --input name=file for each model input');
  for (const s of samples) {
    const ref = s.feeds[tokenInput ?? ''] ?? Object.values(s.feeds)[0]!;
    const [batch, tokens] = [ref.dims[0]!, ref.dims[ref.dims.length - 1]!];
    for (const want of inputs) {
      if (s.feeds[want.name]) continue;
      const d = defaultFeed(want, batch, tokens);
      if (d) s.feeds[want.name] = d;
    }
  }
  return { samples, tokenizer };
}

/**
 * Writes one text sample's explanation: per-token relevance as JSON, HTML, .npy and a terminal line per batch row, or
 * (models with several float inputs and no token ids) one .npy per float input. Returns the summary records.
 */
export async function writeTextResult(s: TextSample, e: FeedsResult, tokenizer: TextTokenizer | undefined, flags: Pick<TextExplainFlags, 'out' | 'json'>): Promise<Record<string, unknown>[]> {
  const summary: Record<string, unknown>[] = [];
  if (!e.tokenRelevance) {
    // Models with several float inputs and no token ids: one attribution .npy per float input.
    if (!Object.keys(e.attributions).length) throw new XsysError('the model has neither a token-embedding lookup nor a float input: nothing to attribute to', { exitCode: 3 });
    for (const [input, a] of Object.entries(e.attributions)) await writeNpy(join(flags.out, `${s.name}.${input}.npy`), a.data, a.dims);
    const record = { input: s.name, method: e.method, composite: e.composite, targets: e.targets, attributions: Object.fromEntries(Object.entries(e.attributions).map(([k, a]) => [k, { file: `${s.name}.${k}.npy`, shape: a.dims }])), timing: e.timing };
    summary.push(record);
    if (!flags.json) process.stdout.write(`${s.name}: explained ${e.targets.join(', ')}; wrote ${Object.keys(e.attributions).map((k) => `${s.name}.${k}.npy`).join(', ')}\n`);
    return summary;
  }
  const ids = s.feeds[e.tokenInput!]!;
  const batch = ids.dims[0]!;
  const tokens = ids.dims[ids.dims.length - 1]!;
  for (let b = 0; b < batch; b++) {
    const name = batch > 1 ? `${s.name}-${b}` : s.name;
    const rel = e.tokenRelevance.data.subarray(b * tokens, (b + 1) * tokens);
    const list: TokenRelevance[] = Array.from(rel, (r, i) => {
      const id = Number(ids.data[b * tokens + i]!);
      return { id, token: s.tokens?.[b]?.[i] ?? tokenizer?.token(id) ?? `#${id}`, relevance: r };
    });
    const row = Array.from(e.scores.data.subarray(b * e.scores.dims[1]!, (b + 1) * e.scores.dims[1]!));
    const prediction = argMax(row);
    const targetLabel = tokenizer && e.position !== undefined ? ` ('${tokenizer.token(e.targets[b]!)}')` : '';
    const caption = `${e.method}${e.composite ? ` (${e.composite})` : ''}: ${e.position !== undefined ? `next token ${e.targets[b]}${targetLabel} after position ${e.position}` : `class ${e.targets[b]}`}; predicted ${prediction}`;
    const record = { input: name, method: e.method, composite: e.composite, target: e.targets[b], position: e.position, prediction, logit: row[e.targets[b]!], relevanceSum: rel.reduce((a, v) => a + v, 0), tokenInput: e.tokenInput, tokens: list, timing: e.timing };
    await writeFile(join(flags.out, `${name}.tokens.json`), JSON.stringify(record, null, 2));
    await writeFile(join(flags.out, `${name}.html`), tokensToHtml(list, { title: `${name} — token relevance`, caption }));
    await writeNpy(join(flags.out, `${name}.npy`), Float32Array.from(rel), [tokens]);
    summary.push({ ...record, tokens: undefined });
    if (!flags.json) process.stdout.write(`${name}: ${caption}\n  ${tokensToAnsi(list)}\n`);
  }
  return summary;
}
