/**
 * End-to-end tests of `xsys explain` on text models (token ids, --input, --text with a tokenizer.json, --position)
 * and on a ViT with the attnlrp composite. Models are built in TS (bench/transformers.ts); the CLI runs dist/.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, xsys } from './helpers/cli.js';
import { buildTransformer, type TransformerSpec } from '../bench/transformers.js';
import { serializeModel } from '../src/onnx/model.js';
import { readNpy, writeNpy } from '../src/io/npy-file.js';
import { MultiInputExplainer } from '../src/methods/multi-input.js';
import { wordPieceTokenizer } from './helpers/tokenizer.js';

const WORDS = ['the', 'movie', 'was', 'great', 'terrible', 'not', 'good', 'bad', ',', '.', '!', 'plot', 'acting', 'and', '##ly'];
const ENCODER: TransformerSpec = { kind: 'encoder', layers: 2, hidden: 16, heads: 2, ffn: 32, vocab: 4 + WORDS.length, maxPositions: 16, classes: 2, norm: 'layernorm-decomposed', act: 'gelu-erf', preNorm: false, opset: 14, attentionMask: true, tokenTypes: true, pooler: true };
const DECODER: TransformerSpec = { kind: 'decoder', layers: 2, hidden: 16, heads: 2, ffn: 32, vocab: 4 + WORDS.length, maxPositions: 16, norm: 'rmsnorm', act: 'silu-gated', preNorm: true, opset: 17, attentionMask: true };


let tmp: string;
let encoder: string;
let decoder: string;
let tokenizer: string;
beforeAll(() => {
  ensureDist();
  tmp = mkdtempSync(join(tmpdir(), 'xsys-text-'));
  encoder = join(tmp, 'encoder.onnx');
  decoder = join(tmp, 'decoder.onnx');
  tokenizer = join(tmp, 'tokenizer.json');
  writeFileSync(encoder, serializeModel(buildTransformer(ENCODER)));
  writeFileSync(decoder, serializeModel(buildTransformer(DECODER)));
  writeFileSync(tokenizer, JSON.stringify(wordPieceTokenizer(WORDS)));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('xsys explain on a text classifier', () => {
  it('token ids from a JSON list: per-token relevance (.tokens.json, .html, .npy) equal to the library, mask filled in', async () => {
    const ids = [2, 4, 5, 6, 7, 3];
    writeFileSync(join(tmp, 'ids.json'), JSON.stringify(ids));
    const out = join(tmp, 'out-ids');
    const r = await xsys('explain', encoder, join(tmp, 'ids.json'), '-t', '1', '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ids: lrp \(attnlrp\): class 1; predicted [01]/);
    expect(r.stdout).toContain('\x1b[48;2;');
    const rec = JSON.parse(readFileSync(join(out, 'ids.tokens.json'), 'utf8')) as { tokens: { id: number; token: string; relevance: number }[]; composite: string; tokenInput: string };
    expect(rec.composite).toBe('attnlrp');
    expect(rec.tokenInput).toBe('input_ids');
    expect(rec.tokens.map((t) => t.id)).toEqual(ids);
    // The same numbers from the library with an explicit all-ones mask and zero token types.
    const mx = await MultiInputExplainer.load(buildTransformer(ENCODER));
    const e = await mx.explain(
      {
        input_ids: { dtype: 'int64', data: BigInt64Array.from(ids, BigInt), dims: [1, 6] },
        attention_mask: { dtype: 'int64', data: new BigInt64Array(6).fill(1n), dims: [1, 6] },
        token_type_ids: { dtype: 'int64', data: new BigInt64Array(6), dims: [1, 6] },
      },
      { composite: 'attnlrp', target: 1 },
    );
    rec.tokens.forEach((t, i) => expect(t.relevance).toBeCloseTo(e.tokenRelevance!.data[i]!, 5));
    const npy = await readNpy(join(out, 'ids.npy'));
    expect(npy.shape).toEqual([6]);
    const html = readFileSync(join(out, 'ids.html'), 'utf8');
    expect(html).toContain('<span class="tok" style="background:rgb(');
    expect((html.match(/class="tok"/g) ?? []).length).toBe(6);
  });

  it('--text with a tokenizer.json: tokens shown as the tokenizer wrote them', async () => {
    const out = join(tmp, 'out-text');
    const r = await xsys('explain', encoder, '--text', 'The movie was badly good!', '--tokenizer', tokenizer, '-c', 'cp-lrp', '-o', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rec = JSON.parse(readFileSync(join(out, 'text.tokens.json'), 'utf8')) as { tokens: { token: string }[]; composite: string };
    expect(rec.composite).toBe('cp-lrp');
    expect(rec.tokens.map((t) => t.token)).toEqual(['[CLS]', 'the', 'movie', 'was', 'bad', '##ly', 'good', '!', '[SEP]']);
    expect(JSON.parse(r.stdout)[0].input).toBe('text');
  });

  it('--input name=file for every input, a batch of two with padding', async () => {
    await writeNpy(join(tmp, 'b_ids.npy'), BigInt64Array.from([2, 4, 5, 6, 7, 3, 2, 4, 8, 3, 0, 0], BigInt), [2, 6]);
    await writeNpy(join(tmp, 'b_mask.npy'), BigInt64Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], BigInt), [2, 6]);
    await writeNpy(join(tmp, 'b_types.npy'), new BigInt64Array(12), [2, 6]);
    const out = join(tmp, 'out-batch');
    const r = await xsys('explain', encoder, '--input', `input_ids=${join(tmp, 'b_ids.npy')}`, '--input', `attention_mask=${join(tmp, 'b_mask.npy')}`, '--input', `token_type_ids=${join(tmp, 'b_types.npy')}`, '--tokenizer', tokenizer, '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const second = JSON.parse(readFileSync(join(out, 'input-1.tokens.json'), 'utf8')) as { tokens: { token: string; relevance: number }[] };
    expect(second.tokens.map((t) => t.token)).toEqual(['[CLS]', 'the', 'terrible', '[SEP]', '[PAD]', '[PAD]']);
    // Padded positions are masked out of every attention (exp(−10⁴) = 0 in float32) and the classifier reads the
    // first token only: no relevance can reach them.
    expect(second.tokens.slice(4).map((t) => Math.abs(t.relevance))).toEqual([0, 0]);
    expect(second.tokens.slice(0, 4).some((t) => t.relevance !== 0)).toBe(true);
  });
});

describe('xsys explain on a causal LM', () => {
  it('--position picks the next-token score to explain; later tokens get zero relevance', async () => {
    writeFileSync(join(tmp, 'prompt.json'), JSON.stringify([4, 5, 6, 7, 13, 8]));
    const out = join(tmp, 'out-lm');
    const r = await xsys('explain', decoder, join(tmp, 'prompt.json'), '--position', '3', '-t', '10', '--tokenizer', tokenizer, '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/next token 10 \('good'\) after position 3/);
    const rec = JSON.parse(readFileSync(join(out, 'prompt.tokens.json'), 'utf8')) as { position: number; target: number; tokens: { relevance: number }[] };
    expect(rec.position).toBe(3);
    expect(rec.target).toBe(10);
    expect(rec.tokens.slice(4).map((t) => t.relevance)).toEqual([0, 0]);
    expect(rec.tokens.slice(0, 4).some((t) => t.relevance !== 0)).toBe(true);
  });
});

describe('xsys explain on text models: bad input', () => {
  const cases: [string, () => string[], RegExp][] = [
    ['missing tokenizer file', () => ['--text', 'the movie', '--tokenizer', join(tmp, 'nope.json')], /nope\.json: tokenizer file not found/],
    ['text without a tokenizer', () => ['--text', 'the movie'], /--text: text needs a tokenizer/],
    ['token id outside the vocabulary', () => { writeFileSync(join(tmp, 'big.json'), '[2, 99, 3]'); return [join(tmp, 'big.json')]; }, /input_ids': token id 99 .* outside the vocabulary \(0–18/],
    ['unknown input name', () => ['--input', `inputs_ids=${join(tmp, 'b_ids.npy')}`], /--input: the model has no input named 'inputs_ids'/],
    ['float ids', () => { return ['--input', `input_ids=${join(tmp, 'f.npy')}`]; }, /input 'input_ids': the model takes int64/],
    ['sequence too long', () => { writeFileSync(join(tmp, 'long.json'), JSON.stringify(new Array(20).fill(4))); return [join(tmp, 'long.json')]; }, /20 tokens is longer than the model allows \(16\)/],
    ['--position on a classifier', () => [join(tmp, 'ids.json'), '--position', '2'], /--position: .*no sequence axis/],
  ];
  beforeAll(async () => {
    await writeNpy(join(tmp, 'f.npy'), Float32Array.from([2, 4, 3]), [1, 3]);
  });
  it.each(cases)('%s', async (_name, args, message) => {
    const r = await xsys('explain', encoder, ...args(), '-o', join(tmp, 'out-bad'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('xsys explain on a ViT with attnlrp', () => {
  it('writes an image heatmap as for CNNs', async () => {
    const spec: TransformerSpec = { kind: 'vit', layers: 1, hidden: 16, heads: 2, ffn: 32, image: 16, patch: 4, classes: 3, norm: 'layernorm', act: 'gelu-erf', preNorm: true, opset: 17 };
    const vit = join(tmp, 'vit.onnx');
    writeFileSync(vit, serializeModel(buildTransformer(spec)));
    await writeNpy(join(tmp, 'img.npy'), Float32Array.from({ length: 3 * 256 }, (_, i) => Math.sin(i)), [1, 3, 16, 16]);
    const out = join(tmp, 'out-vit');
    const r = await xsys('explain', vit, join(tmp, 'img.npy'), '-c', 'attnlrp', '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(join(out, 'img.png'))).toBe(true);
    const a = await readNpy(join(out, 'img.npy'));
    expect(a.shape).toEqual([1, 3, 16, 16]);
  });
});

describe('the README examples (examples/transformers, trained and exported by PyTorch)', () => {
  it('text classifier: "wonderful" carries the positive decision, "not" speaks against it', async () => {
    const out = join(tmp, 'out-example');
    const r = await xsys('explain', 'examples/transformers/text-classifier.onnx', '--text', 'the acting was not good but the story was really wonderful .', '--tokenizer', 'examples/transformers/tokenizer.json', '-o', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rec = JSON.parse(readFileSync(join(out, 'text.tokens.json'), 'utf8')) as { prediction: number; target: number; tokens: { token: string; relevance: number }[] };
    expect(rec.prediction).toBe(1);
    const rel = rec.tokens.map((t) => t.relevance);
    expect(rec.tokens[rel.indexOf(Math.max(...rel))]!.token).toBe('wonderful');
    expect(rec.tokens[rel.indexOf(Math.min(...rel))]!.token).toBe('not');
  });

  it('ViT: the bright square (quadrant 2) holds the largest |relevance| under attnlrp + Gamma', async () => {
    const out = join(tmp, 'out-example-vit');
    const r = await xsys('explain', 'examples/transformers/vit-quadrant.onnx', 'examples/transformers/quadrant-example.npy', '-c', 'examples/transformers/attnlrp-gamma.json', '-o', out);
    expect(r.code).toBe(0);
    const a = await readNpy(join(out, 'quadrant-example.npy'));
    const x = await readNpy('examples/transformers/quadrant-example.npy');
    const ad = a.data as Float32Array;
    const xd = x.data as Float32Array;
    let inSq = 0;
    let outSq = 0;
    for (let i = 0; i < ad.length; i++) (xd[i]! > 1 ? (inSq += Math.abs(ad[i]!)) : (outSq += Math.abs(ad[i]!)));
    // 48 of 768 values (6 %) lie in the square; they carry well over twice their share of |relevance| …
    expect(inSq / (inSq + outSq)).toBeGreaterThan(0.15);
    // … and the pixel with the largest |relevance| (summed over channels) is in it.
    const perPixel = Array.from({ length: 256 }, (_, p) => ad[p]! + ad[256 + p]! + ad[512 + p]!);
    const best = perPixel.map(Math.abs).indexOf(Math.max(...perPixel.map(Math.abs)));
    expect(xd[best]!).toBeGreaterThan(1);
  });
});

describe('xsys explain with several float inputs by name', () => {
  it('--input x1=… --input x2=…: one attribution per input; the uniform rule splits the product x1·x2 evenly', async () => {
    const { buildModel, makeNode, valueInfo, floatTensor } = await import('./helpers/onnx.js');
    const model = buildModel({
      nodes: [makeNode('Mul', ['x1', 'x2'], ['p'], 'mul'), makeNode('Gemm', ['p', 'W'], ['y'], 'fc', { transB: { int: 1 } })],
      initializers: [floatTensor('W', Float32Array.from({ length: 8 }, (_, i) => (i % 3) - 1), [2, 4])],
      inputs: [valueInfo('x1', [1, 4]), valueInfo('x2', [1, 4])],
      outputs: [valueInfo('y', [1, 2])],
    });
    const file = join(tmp, 'two.onnx');
    writeFileSync(file, serializeModel(model));
    await writeNpy(join(tmp, 'x1.npy'), Float32Array.from([1, 2, -1, 0.5]), [1, 4]);
    await writeNpy(join(tmp, 'x2.npy'), Float32Array.from([0.5, -1, 2, 3]), [1, 4]);
    const out = join(tmp, 'out-two');
    const r = await xsys('explain', file, '--input', `x1=${join(tmp, 'x1.npy')}`, '--input', `x2=${join(tmp, 'x2.npy')}`, '-c', 'attnlrp', '-t', '0', '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const a1 = (await readNpy(join(out, 'input.x1.npy'))).data as Float32Array;
    const a2 = (await readNpy(join(out, 'input.x2.npy'))).data as Float32Array;
    // y0 = Σ W0j·x1j·x2j with W0 = [-1, 0, 1, -1]: each factor gets half of W0j·x1j·x2j.
    const w0 = [-1, 0, 1, -1];
    const p = [0.5, -2, -2, 1.5];
    expect(Array.from(a1)).toEqual(p.map((v, j) => (w0[j]! * v) / 2));
    expect(Array.from(a2)).toEqual(Array.from(a1));
  });
});
