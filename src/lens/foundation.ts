/**
 * A bring-your-own multimodal foundation model (SemanticLens' "semantic space"): an image encoder ONNX (image →
 * embedding) and optionally a text encoder ONNX (token ids → embedding) with its Hugging Face tokenizer.json, plus
 * the preprocessing settings that turn an 8-bit picture (or a crop of one) into the encoder's input. Embeddings are
 * L2-normalised here whether or not the encoder does it, so cosines are dot products everywhere downstream.
 *
 * The settings travel as `foundation.json` beside the encoders (scripts/train_aligned_mnist.py writes one for the
 * bundled aligned MNIST model; README "SemanticLens" shows one for an exported OpenCLIP model).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FileFormatError, InvalidArgumentError, RuntimeFailure } from '../errors.js';
import { createSession } from '../runtime/session.js';
import { tokenizerFromJson, type TextTokenizer } from '../io/tokens.js';
import type { RasterImage } from '../render/heatmap.js';
import type { Box } from '../concepts/atlas.js';

export const CROP_MODES = ['mask', 'resize'] as const;
/**
 * How a concept's crop becomes the encoder's input: `resize` cuts the box out and resizes it to the encoder's size
 * (CLIP's usual preprocessing of a region); `mask` keeps the whole picture and blacks out everything outside the
 * box (for encoders trained on whole small images, such as the bundled MNIST one, where a resized stroke fragment
 * would be a different picture).
 */
export type CropMode = (typeof CROP_MODES)[number];

export interface FoundationSpec {
  format: 'xsys-foundation-model';
  version: 1;
  name: string;
  /** File names relative to foundation.json (when loaded from disk). */
  imageEncoder: string;
  textEncoder?: string;
  tokenizer?: string;
  image: {
    /** The encoder's image input name. */
    input: string;
    /** [height, width] the encoder takes. */
    size: [number, number];
    channels: 1 | 3;
    /** Per-channel mean and std applied after scaling pixels to [0, 1]. */
    mean: number[];
    std: number[];
    crop: CropMode;
  };
  text?: { input: string; maxTokens: number; padId: number };
  /** Output name of both encoders. */
  output: string;
  dim: number;
  /** Prompts that name nothing in particular; text-search scores are calibrated against them. */
  neutralPrompts: string[];
  /** A default concept vocabulary for automatic labels. */
  vocabulary?: string[];
}

export const MAX_EMBED_BATCH = 256;
export const MAX_TEXT_LENGTH = 512;

/** Checks a parsed foundation.json, naming the first wrong field. */
export function validateFoundationSpec(json: unknown, source = 'foundation.json'): FoundationSpec {
  const s = json as Partial<FoundationSpec> | null;
  const bad = (field: string, why: string): never => {
    throw new FileFormatError(source, `${field}: ${why}`, 'see README "SemanticLens: bring your own foundation model" for the fields');
  };
  if (!s || typeof s !== 'object' || s.format !== 'xsys-foundation-model') bad('format', "must be 'xsys-foundation-model'");
  if (typeof s!.name !== 'string' || !s!.name) bad('name', 'a non-empty string is required');
  if (typeof s!.imageEncoder !== 'string') bad('imageEncoder', 'the image encoder ONNX file name is required');
  const im = s!.image;
  if (!im || typeof im.input !== 'string') bad('image.input', "the image encoder's input name is required");
  if (!Array.isArray(im!.size) || im!.size.length !== 2 || !im!.size.every((v) => Number.isInteger(v) && v >= 1 && v <= 1024)) bad('image.size', 'must be [height, width], integers in 1…1024');
  if (im!.channels !== 1 && im!.channels !== 3) bad('image.channels', 'must be 1 or 3');
  if (!Array.isArray(im!.mean) || !Array.isArray(im!.std) || im!.mean.length !== im!.channels || im!.std.length !== im!.channels) bad('image.mean/std', `one value per channel (${im!.channels})`);
  if (im!.std.some((v) => !(v > 0))) bad('image.std', 'every std must be positive');
  if (!CROP_MODES.includes(im!.crop)) bad('image.crop', `must be one of ${CROP_MODES.join(', ')}`);
  if (typeof s!.output !== 'string') bad('output', "the encoders' output name is required");
  if (!Number.isInteger(s!.dim) || s!.dim! < 1) bad('dim', 'the embedding size must be a positive integer');
  if (!Array.isArray(s!.neutralPrompts)) bad('neutralPrompts', 'a list of prompts is required (may be empty)');
  if (s!.textEncoder !== undefined) {
    if (!s!.tokenizer) bad('tokenizer', 'a text encoder needs its tokenizer.json');
    if (!s!.text || typeof s!.text.input !== 'string' || !Number.isInteger(s!.text.maxTokens) || s!.text.maxTokens < 1 || !Number.isInteger(s!.text.padId)) bad('text', '{ input, maxTokens, padId } is required with a text encoder');
  }
  return s as FoundationSpec;
}

function l2normalise(data: Float32Array, n: number, d: number): Float32Array {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += data[i * d + j]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) data[i * d + j]! *= inv;
  }
  return data;
}

/** Bilinear resampling of one channel plane (align_corners = false, as torchvision and CLIP's resize). */
function resizePlane(src: Float32Array, sh: number, sw: number, dh: number, dw: number): Float32Array {
  if (sh === dh && sw === dw) return src;
  const out = new Float32Array(dh * dw);
  for (let y = 0; y < dh; y++) {
    const fy = Math.min(Math.max((y + 0.5) * (sh / dh) - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, sh - 1);
    const wy = fy - y0;
    for (let x = 0; x < dw; x++) {
      const fx = Math.min(Math.max((x + 0.5) * (sw / dw) - 0.5, 0), sw - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, sw - 1);
      const wx = fx - x0;
      out[y * dw + x] = (1 - wy) * ((1 - wx) * src[y0 * sw + x0]! + wx * src[y0 * sw + x1]!) + wy * ((1 - wx) * src[y1 * sw + x0]! + wx * src[y1 * sw + x1]!);
    }
  }
  return out;
}

export interface FoundationSources {
  spec: FoundationSpec;
  imageEncoder: Uint8Array;
  textEncoder?: Uint8Array;
  /** The parsed tokenizer.json. */
  tokenizer?: unknown;
}

export class FoundationModel {
  private constructor(
    readonly spec: FoundationSpec,
    /** SHA-256 over the encoders and the tokenizer (a lens index records it). */
    readonly fingerprint: string,
    private readonly image: ort.InferenceSession,
    private readonly text?: ort.InferenceSession,
    private readonly tokenizer?: TextTokenizer,
  ) {}

  get hasText(): boolean {
    return !!this.text;
  }

  /** From foundation.json on disk; the encoders and tokenizer are resolved beside it. */
  static async load(path: string, options: { threads?: number } = {}): Promise<FoundationModel> {
    const read = async (p: string) => {
      try {
        return new Uint8Array(await readFile(p));
      } catch (e) {
        throw new FileFormatError(p, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'foundation.json names its files relative to itself');
      }
    };
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(await read(path)));
    } catch (e) {
      if (e instanceof FileFormatError) throw e;
      throw new FileFormatError(path, `not JSON (${(e as Error).message})`);
    }
    const spec = validateFoundationSpec(json, path);
    const dir = dirname(path);
    const tokenizer = spec.tokenizer ? JSON.parse(new TextDecoder().decode(await read(resolve(dir, spec.tokenizer)))) : undefined;
    return FoundationModel.create({ spec, imageEncoder: await read(resolve(dir, spec.imageEncoder)), textEncoder: spec.textEncoder ? await read(resolve(dir, spec.textEncoder)) : undefined, tokenizer }, options);
  }

  static async create(src: FoundationSources, options: { threads?: number } = {}): Promise<FoundationModel> {
    const spec = validateFoundationSpec(src.spec);
    const image = await createSession(src.imageEncoder, { threads: options.threads });
    if (!image.inputNames.includes(spec.image.input)) throw new InvalidArgumentError('image.input', `the image encoder has no input '${spec.image.input}' (it has ${image.inputNames.join(', ')})`);
    if (!image.outputNames.includes(spec.output)) throw new InvalidArgumentError('output', `the image encoder has no output '${spec.output}' (it has ${image.outputNames.join(', ')})`);
    let text: ort.InferenceSession | undefined;
    let tokenizer: TextTokenizer | undefined;
    if (src.textEncoder) {
      if (!spec.text) throw new InvalidArgumentError('text', 'a text encoder was given without text settings');
      text = await createSession(src.textEncoder, { threads: options.threads });
      if (!text.inputNames.includes(spec.text.input)) throw new InvalidArgumentError('text.input', `the text encoder has no input '${spec.text.input}' (it has ${text.inputNames.join(', ')})`);
      if (!text.outputNames.includes(spec.output)) throw new InvalidArgumentError('output', `the text encoder has no output '${spec.output}' (it has ${text.outputNames.join(', ')})`);
      if (src.tokenizer === undefined) throw new InvalidArgumentError('tokenizer', 'a text encoder needs its tokenizer.json');
      tokenizer = tokenizerFromJson(src.tokenizer, {}, spec.tokenizer ?? 'tokenizer.json');
    }
    const h = createHash('sha256').update(src.imageEncoder).update('|');
    if (src.textEncoder) h.update(src.textEncoder).update('|').update(JSON.stringify(src.tokenizer));
    return new FoundationModel(spec, h.digest('hex'), image, text, tokenizer);
  }

  /**
   * The encoder input of a picture: optionally restricted to a box (masked or cut out and resized, per the spec),
   * converted to the encoder's channels, resized to its size, scaled to [0, 1] and mean/std normalised.
   */
  preprocess(img: RasterImage, box?: Box): Float32Array {
    const { size, channels, mean, std, crop } = this.spec.image;
    const srcC = img.channels ?? 3;
    const colour = srcC === 1 ? 1 : 3;
    let [y0, x0, y1, x1] = box ?? [0, 0, img.height, img.width];
    if (!(y0 >= 0 && x0 >= 0 && y1 <= img.height && x1 <= img.width && y1 > y0 && x1 > x0)) throw new InvalidArgumentError('box', `box [${[y0, x0, y1, x1].join(', ')}] is not inside a ${img.width}×${img.height} image`);
    const keepWhole = crop === 'mask';
    const [oh, ow] = keepWhole ? [img.height, img.width] : [y1 - y0, x1 - x0];
    const planes: Float32Array[] = Array.from({ length: colour }, () => new Float32Array(oh * ow));
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const sy = keepWhole ? y : y + y0;
        const sx = keepWhole ? x : x + x0;
        if (keepWhole && (sy < y0 || sy >= y1 || sx < x0 || sx >= x1)) continue;
        const p = (sy * img.width + sx) * srcC;
        for (let c = 0; c < colour; c++) planes[c]![y * ow + x] = img.data[p + c]! / 255;
      }
    }
    let chans: Float32Array[];
    if (channels === colour) chans = planes;
    else if (channels === 3) chans = [planes[0]!, planes[0]!, planes[0]!];
    else {
      // RGB to grey with ITU-R BT.601 weights (what PIL's convert('L') does).
      const g = new Float32Array(oh * ow);
      for (let i = 0; i < g.length; i++) g[i] = 0.299 * planes[0]![i]! + 0.587 * planes[1]![i]! + 0.114 * planes[2]![i]!;
      chans = [g];
    }
    const [h, w] = size;
    const out = new Float32Array(channels * h * w);
    chans.forEach((pl, c) => {
      const r = resizePlane(pl, oh, ow, h, w);
      for (let i = 0; i < h * w; i++) out[c * h * w + i] = (r[i]! - mean[c]!) / std[c]!;
    });
    return out;
  }

  /** Normalised embeddings [n, dim] of pictures (each optionally restricted to a box), in batches. */
  async embedImages(images: readonly { image: RasterImage; box?: Box }[]): Promise<Float32Array> {
    const { size, channels, input } = this.spec.image;
    const per = channels * size[0] * size[1];
    const d = this.spec.dim;
    const out = new Float32Array(images.length * d);
    for (let b = 0; b < images.length; b += MAX_EMBED_BATCH) {
      const chunk = images.slice(b, b + MAX_EMBED_BATCH);
      const x = new Float32Array(chunk.length * per);
      chunk.forEach((im, i) => x.set(this.preprocess(im.image, im.box), i * per));
      const e = await this.run(this.image, { [input]: new ort.Tensor('float32', x, [chunk.length, channels, size[0], size[1]]) }, chunk.length, 'image');
      out.set(e, b * d);
    }
    return l2normalise(out, images.length, d);
  }

  /** Normalised embeddings [n, dim] of texts (tokenised, truncated to maxTokens, padded with padId). */
  async embedTexts(texts: readonly string[]): Promise<Float32Array> {
    if (!this.text || !this.tokenizer || !this.spec.text) throw new InvalidArgumentError('foundation model', `'${this.spec.name}' has no text encoder`, 'register it with a text encoder and tokenizer.json, or search by image');
    for (const t of texts) if (typeof t !== 'string' || !t.trim() || t.length > MAX_TEXT_LENGTH) throw new InvalidArgumentError('text', `each text must be 1…${MAX_TEXT_LENGTH} characters`);
    const { maxTokens, padId, input } = this.spec.text;
    const d = this.spec.dim;
    const out = new Float32Array(texts.length * d);
    for (let b = 0; b < texts.length; b += MAX_EMBED_BATCH) {
      const chunk = texts.slice(b, b + MAX_EMBED_BATCH);
      const ids = chunk.map((t) => this.tokenizer!.encode(t).ids.slice(0, maxTokens));
      const len = Math.max(1, ...ids.map((r) => r.length));
      const data = new BigInt64Array(chunk.length * len).fill(BigInt(padId));
      ids.forEach((r, i) => r.forEach((v, j) => (data[i * len + j] = BigInt(v))));
      const e = await this.run(this.text, { [input]: new ort.Tensor('int64', data, [chunk.length, len]) }, chunk.length, 'text');
      out.set(e, b * d);
    }
    return l2normalise(out, texts.length, d);
  }

  private async run(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, n: number, which: string): Promise<Float32Array> {
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run(feeds);
    } catch (e) {
      throw new RuntimeFailure(`the ${which} encoder of '${this.spec.name}' failed: ${(e as Error).message}`, `check image/text settings in foundation.json against the encoder's inputs`, e);
    }
    const t = out[this.spec.output] as ort.Tensor;
    if (t.dims.length !== 2 || t.dims[0] !== n || t.dims[1] !== this.spec.dim) throw new RuntimeFailure(`the ${which} encoder of '${this.spec.name}' returned [${t.dims.join(', ')}], expected [${n}, ${this.spec.dim}]`, 'the encoders must output [batch, dim] embeddings (pool them inside the ONNX graph)');
    return Float32Array.from(t.data as Float32Array);
  }
}
