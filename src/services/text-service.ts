/**
 * Text models in the workbench: the text is tokenised with the tokenizer.json stored with the model, the other
 * inputs a tokenizer would fill (attention mask, token types, positions) are filled the same way, and the model is
 * explained at its token embeddings (per-token relevance), as `xsys explain --text` does.
 */
import { pickTokenEmbedding } from '../compiler/sources.js';
import { InvalidArgumentError } from '../errors.js';
import { tokenizerFromJson, type TextTokenizer } from '../io/tokens.js';
import { FEEDS_METHODS, type FeedsMethod } from '../methods/multi-input.js';
import type { MethodName } from '../methods/types.js';
import { defaultFeed, feedFromArray, type Feed } from '../runtime/feeds.js';
import type { Store } from '../store/types.js';
import { ORT_VERSION, VERSION } from '../version.js';
import { completeParams, type ParamValues } from './params.js';
import { checkComposite, type ModelService } from './models.js';
import { HttpProblem } from './problem.js';
import { softmaxTopk } from './topk.js';

export interface TextExplainRequest {
  modelId: string;
  text: string;
  method: string;
  composite?: string;
  params?: ParamValues;
  target?: number | 'pred';
}

export interface TextExplainResult {
  modelId: string;
  method: string;
  composite: string | null;
  /** Every parameter, defaults filled in. */
  params: ParamValues;
  /** The class explained (resolved). */
  target: number;
  topk: { class: number; score: number; prob: number }[];
  tokenInput: string;
  tokens: { id: number; token: string; relevance: number }[];
  relevanceSum: number;
  provenance: { modelSha256: string; tokenizerSha256: string; text: string; target: number | 'pred'; xsysVersion: string; ortVersion: string; timingMs: { compile: number; run: number; total: number } };
}

export class TextService {
  private readonly tokenizers = new Map<string, Promise<TextTokenizer>>();

  constructor(
    private readonly store: Store,
    private readonly models: ModelService,
  ) {}

  private tokenizer(sha: string): Promise<TextTokenizer> {
    let t = this.tokenizers.get(sha);
    if (!t) {
      t = this.store.artefacts.get(sha).then((a) => {
        if (!a) throw new HttpProblem(409, 'artefact-missing', 'Tokenizer missing', `the stored tokenizer ${sha} is missing`, "upload the model's tokenizer.json again");
        return tokenizerFromJson(JSON.parse(new TextDecoder().decode(a.bytes)) as unknown);
      });
      this.tokenizers.set(sha, t);
      t.catch(() => this.tokenizers.delete(sha));
    }
    return t;
  }

  /** Validates a tokenizer.json (it must build) and returns the bytes to store. */
  static check(json: unknown): Uint8Array {
    tokenizerFromJson(json);
    return new TextEncoder().encode(JSON.stringify(json));
  }

  async explain(req: TextExplainRequest): Promise<TextExplainResult> {
    const t0 = performance.now();
    const model = await this.models.get(req.modelId);
    if (!model.tokenizer) throw new HttpProblem(409, 'no-tokenizer', 'No tokenizer', `model ${model.name} has no tokenizer`, "upload the model's tokenizer.json (Hugging Face format) under Models");
    if (!FEEDS_METHODS.includes(req.method as FeedsMethod)) throw new InvalidArgumentError('method', `'${req.method}' is not available for text models`, `use one of: ${FEEDS_METHODS.join(', ')}`);
    const method = req.method as FeedsMethod;
    const composite = method === 'lrp' ? checkComposite(req.composite ?? 'attnlrp') : null;
    const params = completeParams(method as MethodName, composite, req.params ?? {});
    const numeric: Record<string, number> = {};
    for (const [k, v] of Object.entries(params)) if (typeof v === 'number') numeric[k] = v;
    const tok = await this.tokenizer(model.tokenizer);
    const mx = await this.models.feeds(model.id);
    const tokenInput = pickTokenEmbedding(mx.embeddings)?.input;
    if (!tokenInput) throw new HttpProblem(422, 'not-a-text-model', 'Not a text model', `${model.name} has no token-embedding lookup to feed text to`);
    const enc = tok.encode(req.text);
    if (!enc.ids.length) throw new InvalidArgumentError('text', 'the text has no tokens');
    const n = enc.ids.length;
    const feeds: Record<string, Feed> = {};
    const declared = mx.inputs.find((i) => i.name === tokenInput)!;
    feeds[tokenInput] = feedFromArray(tokenInput, { data: BigInt64Array.from(enc.ids, (v) => BigInt(v)), shape: [1, n], dtype: 'int64' }, declared);
    for (const want of mx.inputs) {
      if (feeds[want.name]) continue;
      const d = defaultFeed(want, 1, n);
      if (!d) throw new InvalidArgumentError('text', `the model also needs input '${want.name}', which a tokenizer does not fill`, 'give every input as a .npy file instead (the Explain view offers one file per input for such models)');
      feeds[want.name] = d;
    }
    const target = req.target ?? 'pred';
    const e = await mx.explain(feeds, { method, composite: composite ?? undefined, params: numeric, target });
    const rel = e.tokenRelevance!.data;
    const tokens = Array.from(rel, (r, i) => ({ id: enc.ids[i]!, token: enc.tokens[i] ?? tok.token(enc.ids[i]!), relevance: r }));
    let relevanceSum = 0;
    for (const v of rel) relevanceSum += v;
    const compile = e.timing.compileMs + e.timing.sessionMs;
    const total = performance.now() - t0;
    return {
      modelId: model.id,
      method,
      composite,
      params,
      target: e.targets[0]!,
      topk: softmaxTopk(e.scores.data.subarray(0, e.scores.dims[1]!)),
      tokenInput,
      tokens,
      relevanceSum,
      provenance: { modelSha256: model.id, tokenizerSha256: model.tokenizer, text: req.text, target, xsysVersion: VERSION, ortVersion: ORT_VERSION, timingMs: { compile, run: Math.max(0, e.timing.runMs - compile), total } },
    };
  }
}
