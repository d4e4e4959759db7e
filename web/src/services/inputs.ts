/** The input being explained: a dataset sample, an input stored by the service, or an image dropped into the page. */
import { api, toBase64, type Dataset, type InputSpec, type ModelSummary, type Preprocess } from './api';
import { imageShape, imageToInput, npyToInput, type Tensor } from './tensor';

export interface DroppedImage {
  blob: Blob;
  url: string;
  name: string;
}

export type InputChoice =
  | { kind: 'sample'; dataset: string; index: number }
  | { kind: 'stored'; sha: string }
  | { kind: 'dropped'; image: DroppedImage };

/** route.sample ('dataset/index' or 'input/<sha256>') or, without one, the dropped image. */
export function inputChoice(sample: string | undefined, dropped: DroppedImage | undefined): InputChoice | undefined {
  if (sample) {
    const m = sample.match(/^(.+)\/(\d+)$/);
    if (sample.startsWith('input/')) return { kind: 'stored', sha: sample.slice(6) };
    if (m) return { kind: 'sample', dataset: m[1]!, index: Number(m[2]) };
  }
  return dropped ? { kind: 'dropped', image: dropped } : undefined;
}

const displayCache = new Map<string, Promise<string>>();

/**
 * An image URL showing the input. Stored inputs are kept by the service as the preprocessed tensor (.npy); those are
 * drawn here, min–max scaled per tensor, greyscale for one channel and RGB for three.
 */
export function displayUrl(c: InputChoice): Promise<string> {
  if (c.kind === 'sample') return Promise.resolve(api.sampleUrl(c.dataset, c.index));
  if (c.kind === 'dropped') {
    if (!c.image.name.toLowerCase().endsWith('.npy')) return Promise.resolve(c.image.url);
    return c.image.blob.arrayBuffer().then((b) => tensorImage(npyToInput(new Uint8Array(b), undefined)));
  }
  let url = displayCache.get(c.sha);
  if (!url) {
    url = api.artefact(c.sha).then((bytes) => (bytes[0] === 0x93 && bytes[1] === 0x4e ? tensorImage(npyToInput(bytes, undefined)) : api.artefactUrl(c.sha)));
    displayCache.set(c.sha, url);
    url.catch(() => displayCache.delete(c.sha));
  }
  return url;
}

export function tensorImage(t: Tensor): string {
  const dims = t.dims.length === 4 ? t.dims.slice(1) : t.dims.length === 3 ? t.dims : [1, ...t.dims.slice(-2)];
  const [c = 1, h = 1, w = 1] = dims;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of t.data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi - lo || 1;
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const img = new ImageData(w, h);
  const plane = h * w;
  for (let p = 0; p < plane; p++) {
    for (let k = 0; k < 3; k++) img.data[p * 4 + k] = Math.round(((t.data[(c >= 3 ? k : 0) * plane + p]! - lo) / span) * 255);
    img.data[p * 4 + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(img, 0, 0);
  return canvas.toDataURL('image/png');
}

export function describeInput(c: InputChoice): string {
  return c.kind === 'sample' ? `${c.dataset} #${c.index}` : c.kind === 'stored' ? `stored input ${c.sha.slice(0, 10)}` : c.image.name;
}

/**
 * Preprocessing for an image: the model's own (from the service) or else its input size and channels with the mean/std
 * of a dataset of the same shape.
 */
export function imagePreprocess(model: ModelSummary | undefined, datasets: Dataset[]): Preprocess {
  if (model?.preprocess) return model.preprocess;
  const shape = imageShape(model?.inputs[0]);
  if (!shape) return {};
  const same = datasets.find((d) => {
    const s = d.shape.length === 4 ? d.shape.slice(1) : d.shape;
    return s.length === 3 && s[0] === shape.c && s[1] === shape.h && s[2] === shape.w;
  });
  return { size: [shape.h, shape.w], grayscale: shape.c === 1, ...(same?.preprocess.mean ? { mean: same.preprocess.mean, std: same.preprocess.std } : {}) };
}

export interface Prep {
  /** Swap dark and light (a dark-on-light drawing for a model trained on light-on-dark digits). */
  invert: boolean;
  /** Crop to the drawing: the bounding box of pixels unlike the corners' background, squared, with a margin. */
  crop: boolean;
}

export function parsePrep(text: string | undefined): Prep {
  const parts = (text ?? '').split(',');
  return { invert: parts.includes('invert'), crop: parts.includes('crop') };
}

export function formatPrep(p: Prep): string | undefined {
  const parts = [p.invert ? 'invert' : '', p.crop ? 'crop' : ''].filter(Boolean);
  return parts.length ? parts.join(',') : undefined;
}

/** The uploaded image with the chosen preparation applied, as PNG (resizing to the model's size is preprocessing's job). */
export async function prepareImage(blob: Blob, prep: Prep): Promise<Blob> {
  if (blob.type === 'image/png' && !prep.invert && !prep.crop) return blob;
  const bitmap = await createImageBitmap(blob);
  let { width: w, height: h } = bitmap;
  const src = new OffscreenCanvas(w, h);
  const sctx = src.getContext('2d')!;
  sctx.drawImage(bitmap, 0, 0);
  let img = sctx.getImageData(0, 0, w, h);
  if (prep.invert) {
    for (let i = 0; i < img.data.length; i += 4) for (let k = 0; k < 3; k++) img.data[i + k] = 255 - img.data[i + k]!;
    sctx.putImageData(img, 0, 0);
  }
  if (prep.crop) {
    const bg = [0, 1, 2].map((k) => img.data[k]!);
    let [x0, y0, x1, y1] = [w, h, -1, -1];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        if (Math.abs(img.data[i]! - bg[0]!) + Math.abs(img.data[i + 1]! - bg[1]!) + Math.abs(img.data[i + 2]! - bg[2]!) > 60) {
          x0 = Math.min(x0, x);
          y0 = Math.min(y0, y);
          x1 = Math.max(x1, x);
          y1 = Math.max(y1, y);
        }
      }
    }
    if (x1 >= x0) {
      // MNIST-style framing: the drawing's longer side fills 20/28 of a square with the background around it.
      const side = Math.ceil(Math.max(x1 - x0 + 1, y1 - y0 + 1) * 1.4);
      const out = new OffscreenCanvas(side, side);
      const octx = out.getContext('2d')!;
      octx.fillStyle = `rgb(${bg[0]}, ${bg[1]}, ${bg[2]})`;
      octx.fillRect(0, 0, side, side);
      const cx = (x0 + x1 + 1) / 2;
      const cy = (y0 + y1 + 1) / 2;
      octx.drawImage(src, Math.round(side / 2 - cx), Math.round(side / 2 - cy));
      [w, h] = [side, side];
      img = octx.getImageData(0, 0, w, h);
      return out.convertToBlob({ type: 'image/png' });
    }
  }
  return src.convertToBlob({ type: 'image/png' });
}

function isNpyBytes(bytes: Uint8Array): boolean {
  return bytes[0] === 0x93 && bytes[1] === 0x4e; // "\x93NUMPY"
}

/** What the service needs to explain this input. */
export async function serverInput(c: InputChoice, model: ModelSummary | undefined, datasets: Dataset[], prep?: string): Promise<{ input: InputSpec; preprocess?: Preprocess }> {
  if (c.kind === 'sample') return { input: { kind: 'sample', dataset: c.dataset, index: c.index } };
  if (c.kind === 'stored') {
    const bytes = await api.artefact(c.sha);
    if (isNpyBytes(bytes)) return { input: { kind: 'npy', npy: toBase64(bytes) } };
    return { input: { kind: 'image', png: toBase64(bytes) }, preprocess: imagePreprocess(model, datasets) };
  }
  const raw = new Uint8Array(await c.image.blob.arrayBuffer());
  if (isNpyBytes(raw)) return { input: { kind: 'npy', npy: toBase64(raw), name: c.image.name } };
  const bytes = new Uint8Array(await (await prepareImage(c.image.blob, parsePrep(prep))).arrayBuffer());
  return { input: { kind: 'image', png: toBase64(bytes), name: c.image.name }, preprocess: imagePreprocess(model, datasets) };
}

/** The model input tensor, built in this browser (for on-device explanation, and the preview of what the model sees). */
export async function deviceInput(c: InputChoice, model: ModelSummary | undefined, datasets: Dataset[], prep?: string): Promise<Tensor> {
  const info = model?.inputs.find((i) => i.dtype === 'float32') ?? model?.inputs[0];
  if (c.kind === 'sample') return npyToInput(await api.sampleNpy(c.dataset, c.index), info);
  const blob = c.kind === 'stored' ? new Blob([(await api.artefact(c.sha)) as Uint8Array<ArrayBuffer>]) : c.image.blob;
  const head = new Uint8Array(await blob.slice(0, 2).arrayBuffer());
  if (isNpyBytes(head)) return npyToInput(new Uint8Array(await blob.arrayBuffer()), info);
  return imageToInput(c.kind === 'dropped' ? await prepareImage(blob, parsePrep(prep)) : blob, info, imagePreprocess(model, datasets));
}

/** File types the input accepts; anything else is refused with a message. */
export const ACCEPTED_INPUTS = 'image/png,image/jpeg,image/webp,image/gif,image/bmp,.npy';

/** Why a file cannot be an input, or undefined when it can. */
export function rejectReason(f: File): string | undefined {
  const npy = f.name.toLowerCase().endsWith('.npy');
  if (!npy && !f.type.startsWith('image/')) return `${f.name} is not an image or a .npy array (${f.type || 'unknown type'}). Drop a PNG, JPEG, WebP, GIF or BMP picture, or a .npy holding one preprocessed sample.`;
  if (f.type === 'image/svg+xml') return `${f.name} is an SVG drawing; export it as PNG first.`;
  if (f.size > 20 * 1024 * 1024) return `${f.name} is ${(f.size / 1048576).toFixed(1)} MB; inputs may be at most 20 MB.`;
  if (f.size === 0) return `${f.name} is empty.`;
  return undefined;
}

/** Datasets whose samples have the model's (float) input shape; a symbolic model dimension takes any size. */
export function compatibleDatasets(model: ModelSummary | undefined, datasets: Dataset[]): Dataset[] {
  const info = model?.inputs.find((i) => i.dtype === 'float32');
  if (!model || !info) return model ? [] : datasets;
  const want = info.shape.slice(1);
  return datasets.filter((d) => {
    const have = d.shape.length === want.length + 1 ? d.shape.slice(1) : d.shape;
    return have.length === want.length && want.every((w, i) => typeof w !== 'number' || w === have[i]);
  });
}
