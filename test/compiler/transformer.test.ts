/**
 * AttnLRP / CP-LRP on transformers written the ways exporters write them (bench/transformers.ts builds them with
 * deterministic weights). Three kinds of checks with real numbers:
 * - conservation: a bias-free model without position embeddings, explained with CP-LRP's attention treatment in its
 *   original form (attention weights constant, so attn·v is linear in v: the plain gradient there instead of the
 *   uniform split LXT's cp-lrp applies), is a chain of maps that are linear once the attention weights and
 *   normalisation statistics are held constant, with identity rules on activations and the uniform rule on gate·up —
 *   so Σ_tokens relevance = the explained logit. A missed LayerNorm/RMSNorm/GELU/SiLU pattern or product breaks that
 *   by far more than the tolerance (the plain gradient × input shows it);
 * - equivalence: the same function exported differently (LayerNorm op vs decomposed, Gelu op vs Erf subgraph,
 *   Softmax axis −1 vs 3) gets the same relevance;
 * - causality: in a causal LM, tokens after the explained position get exactly zero relevance.
 */
import { describe, expect, it } from 'vitest';
import { buildTransformer, randomIds, type TransformerSpec } from '../../bench/transformers.js';
import { MultiInputExplainer } from '../../src/methods/multi-input.js';
import { compileExplainer } from '../../src/compiler/compile.js';
import { InputDataError, InvalidArgumentError } from '../../src/errors.js';
import type { Feed } from '../../src/runtime/feeds.js';
import { parseComposite } from '../../src/composites/index.js';

/** CP-LRP with attention weights as constants (Ali et al. 2022): attn·v gets the plain gradient; built with 'extends'. */
const CONSTANT_ATTENTION = parseComposite({ name: 'cp-lrp-constant-attention', extends: 'cp-lrp', entries: [{ match: { kind: 'product', opType: 'MatMul' }, rule: 'gradient' }] });

const TINY = { layers: 2, hidden: 16, heads: 2, ffn: 32, vocab: 50, maxPositions: 12, classes: 3 } as const;

function feeds(spec: TransformerSpec, batch: number, seq: number): Record<string, Feed> {
  const f: Record<string, Feed> = { input_ids: { dtype: 'int64', data: randomIds(batch, seq, spec.vocab!), dims: [batch, seq] } };
  if (spec.attentionMask) {
    const m = new BigInt64Array(batch * seq).fill(1n);
    if (batch > 1) for (let t = seq - 2; t < seq; t++) m[seq + t] = 0n; // padding at the end of sample 1
    f.attention_mask = { dtype: 'int64', data: m, dims: [batch, seq] };
  }
  if (spec.tokenTypes) f.token_type_ids = { dtype: 'int64', data: BigInt64Array.from({ length: batch * seq }, (_, i) => BigInt(i % seq >= seq / 2 ? 1 : 0)), dims: [batch, seq] };
  return f;
}

async function tokenRelevance(spec: TransformerSpec, composite: string | typeof CONSTANT_ATTENTION, opts: { target?: number; position?: number; method?: 'lrp' | 'gradient-x-input'; batch?: number; seq?: number } = {}) {
  const mx = await MultiInputExplainer.load(buildTransformer(spec));
  const f = feeds(spec, opts.batch ?? 2, opts.seq ?? 6);
  const e = await mx.explain(f, { method: opts.method ?? 'lrp', composite: opts.method === 'gradient-x-input' ? undefined : composite, target: opts.target ?? 1, position: opts.position });
  return e;
}

function rowSums(t: { data: Float32Array; dims: number[] }): number[] {
  const [n, k] = t.dims as [number, number];
  return Array.from({ length: n }, (_, b) => t.data.slice(b * k, (b + 1) * k).reduce((a, v) => a + v, 0));
}

function expectConserved(e: Awaited<ReturnType<typeof tokenRelevance>>, tol = 2e-3) {
  const sums = rowSums(e.tokenRelevance!);
  e.targets.forEach((t, b) => {
    const logit = e.scores.data[b * e.scores.dims[1]! + t]!;
    expect(Math.abs(logit)).toBeGreaterThan(1e-2);
    expect(Math.abs(sums[b]! - logit)).toBeLessThan(tol * Math.max(1, Math.abs(logit)));
  });
}

const encoder = (over: Partial<TransformerSpec>): TransformerSpec => ({ kind: 'encoder', ...TINY, norm: 'layernorm', act: 'gelu-erf', preNorm: false, opset: 17, attentionMask: true, bias: false, noPositions: true, ...over });

describe('CP-LRP conserves relevance on bias-free transformers (every recognised pattern is needed for it)', () => {
  const variants: [string, Partial<TransformerSpec>][] = [
    ['post-norm, LayerNormalization op, Erf GELU, padding mask', {}],
    ['decomposed LayerNorm (opset 14), tanh-approximated GELU, pooler', { norm: 'layernorm-decomposed', act: 'gelu-tanh', opset: 14, pooler: true }],
    ['RMSNorm, gated SiLU MLP, pre-norm', { norm: 'rmsnorm', act: 'silu-gated', preNorm: true }],
    ['opset-20 Gelu op, Softmax on axis 3', { act: 'gelu-op', opset: 20, positiveSoftmaxAxis: true }],
  ];
  it.each(variants)('%s', async (_name, over) => {
    expectConserved(await tokenRelevance(encoder(over), CONSTANT_ATTENTION));
  });

  it("LXT's cp-lrp keeps the uniform rule on attn·v: half of the attention branch's relevance stays with the (frozen) attention weights", async () => {
    const spec = encoder({ layers: 1 });
    const lxt = await tokenRelevance(spec, 'cp-lrp');
    const constant = await tokenRelevance(spec, CONSTANT_ATTENTION);
    const d = Math.max(...lxt.tokenRelevance!.data.map((v, i) => Math.abs(v - constant.tokenRelevance!.data[i]!)));
    expect(d).toBeGreaterThan(1e-3);
  });

  it('the plain gradient × input does not conserve on the same model (the check can fail)', async () => {
    const e = await tokenRelevance(encoder({ norm: 'rmsnorm', act: 'silu-gated', preNorm: true }), 'cp-lrp', { method: 'gradient-x-input' });
    const sums = rowSums(e.tokenRelevance!);
    const logit = e.scores.data[e.targets[0]!]!;
    expect(Math.abs(sums[0]! - logit)).toBeGreaterThan(1e-2 * Math.abs(logit));
  });
});

describe('the same function, exported differently, gets the same AttnLRP relevance', () => {
  const pairs: [string, Partial<TransformerSpec>, Partial<TransformerSpec>][] = [
    ['LayerNormalization op vs decomposed LayerNorm', { norm: 'layernorm', opset: 17 }, { norm: 'layernorm-decomposed', opset: 17 }],
    ['Gelu op vs Erf subgraph', { act: 'gelu-op', opset: 20 }, { act: 'gelu-erf', opset: 20 }],
    ['Softmax axis −1 vs 3', { positiveSoftmaxAxis: false }, { positiveSoftmaxAxis: true }],
  ];
  it.each(pairs)('%s', async (_name, a, b) => {
    const base = { bias: true, noPositions: false };
    const ra = await tokenRelevance(encoder({ ...base, ...a }), 'attnlrp');
    const rb = await tokenRelevance(encoder({ ...base, ...b }), 'attnlrp');
    ra.scores.data.forEach((v, i) => expect(rb.scores.data[i]).toBeCloseTo(v, 4));
    const max = Math.max(...ra.tokenRelevance!.data.map(Math.abs));
    ra.tokenRelevance!.data.forEach((v, i) => expect(Math.abs(rb.tokenRelevance!.data[i]! - v)).toBeLessThan(1e-4 * max));
    // And AttnLRP is not the plain gradient × input here.
    const gx = await tokenRelevance(encoder({ ...base, ...a }), 'attnlrp', { method: 'gradient-x-input' });
    const diff = Math.max(...gx.tokenRelevance!.data.map((v, i) => Math.abs(v - ra.tokenRelevance!.data[i]!)));
    expect(diff).toBeGreaterThan(1e-3 * max);
  });
});

describe('causal language models: next-token targets at a position', () => {
  const spec: TransformerSpec = { kind: 'decoder', ...TINY, norm: 'rmsnorm', act: 'silu-gated', preNorm: true, opset: 17, bias: false, noPositions: true };

  it('explains the next-token logit at --position; later tokens get zero relevance; CP-LRP conserves', async () => {
    const e = await tokenRelevance(spec, CONSTANT_ATTENTION, { position: 3, target: 7, seq: 6 });
    expect(e.position).toBe(3);
    expect(e.scores.dims).toEqual([2, TINY.vocab]);
    const r = e.tokenRelevance!;
    expect(r.dims).toEqual([2, 6]);
    for (let b = 0; b < 2; b++) for (let t = 4; t < 6; t++) expect(r.data[b * 6 + t]).toBe(0);
    expect(r.data.slice(0, 4).some((v) => v !== 0)).toBe(true);
    expectConserved(e);
  });

  it('AttnLRP with the default position (the last token) and the predicted next token', async () => {
    const mx = await MultiInputExplainer.load(buildTransformer(spec));
    const e = await mx.explain(feeds(spec, 1, 5), { composite: 'attnlrp' });
    expect(e.position).toBe(4);
    const row = Array.from(e.scores.data);
    expect(e.targets[0]).toBe(row.indexOf(Math.max(...row)));
    expect(e.tokenRelevance!.data.every(Number.isFinite)).toBe(true);
  });
});

describe('bad input is a typed error naming the input', () => {
  const spec = encoder({ tokenTypes: true, noPositions: false });
  const model = buildTransformer(spec);
  const good = () => feeds(spec, 1, 6);

  it('token ids outside the vocabulary', async () => {
    const mx = await MultiInputExplainer.load(model);
    const f = good();
    (f.input_ids!.data as BigInt64Array)[2] = BigInt(TINY.vocab);
    await expect(mx.explain(f)).rejects.toThrow(InputDataError);
    await expect(mx.explain(f)).rejects.toThrow(/input_ids.*token id 50.*outside the vocabulary \(0–49/);
  });

  it('a sequence longer than the position table', async () => {
    const mx = await MultiInputExplainer.load(model);
    expect(mx.maxSequence).toBe(TINY.maxPositions);
    await expect(mx.explain(feeds(spec, 1, 13))).rejects.toThrow(/13 tokens is longer than the model allows \(12\)/);
  });

  it('unknown, missing and mistyped inputs', async () => {
    const mx = await MultiInputExplainer.load(model);
    const f = good();
    await expect(mx.explain({ ...f, input_idz: f.input_ids! })).rejects.toThrow(InvalidArgumentError);
    const { attention_mask: _m, ...missing } = f;
    await expect(mx.explain(missing)).rejects.toThrow(/'attention_mask' \(int64\) is missing/);
    await expect(mx.explain({ ...f, input_ids: { dtype: 'float32', data: new Float32Array(6), dims: [1, 6] } })).rejects.toThrow(/'input_ids' is float32, but the model expects int64/);
  });

  it('picks the word embedding (not token types) for per-token relevance, or the one asked for', () => {
    expect(compileExplainer(model, { method: 'lrp', composite: 'attnlrp' }).token!.input).toBe('input_ids');
    expect(compileExplainer(model, { method: 'lrp', composite: 'attnlrp', tokenInput: 'token_type_ids' }).token!.vocabSize).toBe(2);
    expect(() => compileExplainer(model, { method: 'lrp', composite: 'attnlrp', tokenInput: 'attention_mask' })).toThrow(/no token-embedding lookup reads graph input 'attention_mask'/);
  });
});
