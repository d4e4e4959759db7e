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
  if (c.kind === 'dropped') return Promise.resolve(c.image.url);
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

async function toPng(blob: Blob): Promise<Blob> {
  if (blob.type === 'image/png') return blob;
  const bitmap = await createImageBitmap(blob);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
  return canvas.convertToBlob({ type: 'image/png' });
}

/** What the service needs to explain this input. */
export async function serverInput(c: InputChoice, model: ModelSummary | undefined, datasets: Dataset[]): Promise<{ input: InputSpec; preprocess?: Preprocess }> {
  if (c.kind === 'sample') return { input: { kind: 'sample', dataset: c.dataset, index: c.index } };
  const bytes = c.kind === 'stored' ? await api.artefact(c.sha) : new Uint8Array(await (await toPng(c.image.blob)).arrayBuffer());
  const isNpy = bytes[0] === 0x93 && bytes[1] === 0x4e; // "\x93NUMPY"
  if (isNpy) return { input: { kind: 'npy', npy: toBase64(bytes) } };
  return { input: { kind: 'image', png: toBase64(bytes) }, preprocess: imagePreprocess(model, datasets) };
}

/** The model input tensor, built in this browser (for on-device explanation). */
export async function deviceInput(c: InputChoice, model: ModelSummary | undefined, datasets: Dataset[]): Promise<Tensor> {
  const info = model?.inputs[0];
  if (c.kind === 'sample') return npyToInput(await api.sampleNpy(c.dataset, c.index), info);
  const blob = c.kind === 'stored' ? new Blob([(await api.artefact(c.sha)) as Uint8Array<ArrayBuffer>]) : c.image.blob;
  const head = new Uint8Array(await blob.slice(0, 2).arrayBuffer());
  if (head[0] === 0x93 && head[1] === 0x4e) return npyToInput(new Uint8Array(await blob.arrayBuffer()), info);
  return imageToInput(blob, info, imagePreprocess(model, datasets));
}
