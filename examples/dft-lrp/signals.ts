/**
 * The DFT-LRP example: the 1-D CNN of scripts/train_dft_signals.py, its test signals and the class bands. Used by
 * test/frequency/dft-lrp.test.ts and scripts/dft-lrp-example.ts.
 */
import { readFileSync } from 'node:fs';
import { readNpy } from '../../src/io/npy-file.js';
import { readModel } from '../../src/onnx/file.js';
import type { ModelProto } from 'onnx-buf';
import type { Tensor } from '../../src/runtime/tensor.js';
import { bandShare, type FrequencyRelevance } from '../../src/frequency/dft-lrp.js';

const HERE = new URL('.', import.meta.url).pathname;

export interface SignalExample {
  model: ModelProto;
  signals: Tensor;
  labels: number[];
  /** DFT bins (of the length-N signal) per class, inclusive. */
  bands: [number, number][];
  n: number;
}

export async function loadSignals(): Promise<SignalExample> {
  const info = JSON.parse(readFileSync(`${HERE}bands.json`, 'utf8')) as { bands: [number, number][]; length: number };
  const x = await readNpy(`${HERE}test-signals.npy`);
  const y = await readNpy(`${HERE}test-labels.npy`);
  return { model: await readModel(`${HERE}signal-cnn.onnx`), signals: { data: x.data as Float32Array, dims: x.shape }, labels: Array.from(y.data as BigInt64Array, Number), bands: info.bands, n: info.length };
}

/**
 * The mel example (scripts/train_mel_signals.py): a model that computes its own log-mel spectrogram from the raw
 * waveform (reflect pad, STFT conv, Pow, mel MatMul, Log), its 200 test waveforms and the class bands (DFT bins of the
 * length-512 signal).
 */
export async function loadMelSignals(): Promise<SignalExample & { sampleRate: number }> {
  const info = JSON.parse(readFileSync(`${HERE}mel-bands.json`, 'utf8')) as { bands: [number, number][]; length: number; sampleRate: number };
  const x = await readNpy(`${HERE}mel-test-signals.npy`);
  const y = await readNpy(`${HERE}mel-test-labels.npy`);
  return { model: await readModel(`${HERE}mel-cnn.onnx`), signals: { data: x.data as Float32Array, dims: x.shape }, labels: Array.from(y.data as BigInt64Array, Number), bands: info.bands, n: info.length, sampleRate: info.sampleRate };
}

/**
 * Per class: the mean share of positive relevance inside the class's band widened by one bin (in the bins of the
 * relevance: a length-W STFT window has bins N/W apart), and the bin where the class's mean relevance peaks.
 */
export function bandCheck(r: FrequencyRelevance, ex: SignalExample): { share: number; peak: number; band: [number, number] }[] {
  const scale = (r.bins - 1) / (ex.n / 2);
  return ex.bands.map(([lo, hi], c) => {
    const band: [number, number] = [Math.floor(lo * scale) - 1, Math.ceil(hi * scale) + 1];
    const rows = ex.labels.flatMap((l, i) => (l === c ? [i] : []));
    const share = rows.reduce((s, i) => s + bandShare(r.relevance, r.bins, r.frames, band, i), 0) / rows.length;
    const mean = meanSpectrum(r, rows);
    let peak = 0;
    for (let k = 1; k < mean.length; k++) if (mean[k]! > mean[peak]!) peak = k;
    return { share, peak, band };
  });
}

/** Mean over rows of the relevance summed over frames, each row divided by its Σ|R|: one value per bin. */
export function meanSpectrum(r: FrequencyRelevance, rows: readonly number[]): Float64Array {
  const per = r.bins * r.frames;
  const out = new Float64Array(r.bins);
  for (const i of rows) {
    let tot = 0;
    for (let j = 0; j < per; j++) tot += Math.abs(r.relevance[i * per + j]!);
    if (tot > 0) for (let j = 0; j < per; j++) out[j % r.bins]! += r.relevance[i * per + j]! / tot / rows.length;
  }
  return out;
}
