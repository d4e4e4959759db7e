/**
 * DFT-LRP on examples/dft-lrp (the 1-D CNN of scripts/train_dft_signals.py): relevance of the 400 test signals for
 * their class in the frequency domain (inverse DFT as the virtual inspection layer) and in time-frequency (inverse
 * STFT, Hann window 32, hop 16). Writes docs/dft-lrp/dft-lrp.json (the band check), spectra.svg/png (mean relevance
 * spectrum per class, bands marked in the legend) and spectrograms.png (mean time-frequency relevance per class,
 * frequency upwards, time to the right).
 *
 *   node --import tsx scripts/dft-lrp-example.ts
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { explainFrequency } from '../src/frequency/dft-lrp.js';
import { lineChart } from '../src/correction/charts.js';
import { svgToPng } from '../src/evaluation/report/chart.js';
import { writePng } from '../src/render/png.js';
import { heatmapStrip } from '../src/render/strategy-images.js';
import { bandCheck, loadSignals, meanSpectrum } from '../examples/dft-lrp/signals.js';

const OUT = 'docs/dft-lrp';
const ex = await loadSignals();
await mkdir(OUT, { recursive: true });
const freq = await explainFrequency(ex.model, ex.signals, { target: ex.labels });
const tf = await explainFrequency(ex.model, ex.signals, { target: ex.labels, domain: 'time-frequency', window: 32 });
const rowsOf = (c: number) => ex.labels.flatMap((l, i) => (l === c ? [i] : []));
const spectra = ex.bands.map((_, c) => meanSpectrum(freq, rowsOf(c)));
const svg = lineChart('DFT-LRP: mean relevance per frequency bin, by class', `1-D CNN on ${ex.labels.length} test signals; class bands ${ex.bands.map(([a, b]) => `${a}–${b}`).join(', ')}; distractor 40–50 in every class`, 'DFT bin (cycles per 128 samples)', 'relevance / Σ|R|', spectra.map((s, c) => ({ name: `class ${c} (bins ${ex.bands[c]![0]}–${ex.bands[c]![1]})`, points: Array.from(s, (v, k) => [k, v] as const) })));
await writeFile(`${OUT}/spectra.svg`, svg);
await writeFile(`${OUT}/spectra.png`, await svgToPng(svg));
// Spectrograms: mean over the class of each signal's relevance / Σ|R|, as bins (rows, high at top) × frames.
const maps = ex.bands.map((_, c) => {
  const rows = rowsOf(c);
  const per = tf.bins * tf.frames;
  const m = new Float32Array(per);
  for (const i of rows) {
    let tot = 0;
    for (let j = 0; j < per; j++) tot += Math.abs(tf.relevance[i * per + j]!);
    for (let fr = 0; fr < tf.frames; fr++) for (let k = 0; k < tf.bins; k++) m[(tf.bins - 1 - k) * tf.frames + fr]! += tf.relevance[i * per + fr * tf.bins + k]! / tot / rows.length;
  }
  return m;
});
await writePng(`${OUT}/spectrograms.png`, heatmapStrip(maps, tf.bins, tf.frames, 1), 12);
const report = {
  model: 'examples/dft-lrp/signal-cnn.onnx',
  composite: 'epsilon-plus (ε on the virtual layer)',
  frequency: bandCheck(freq, ex).map((c, k) => ({ class: k, ...c })),
  timeFrequency: { window: 32, hop: 16, frames: tf.frames, bins: tf.bins, check: bandCheck(tf, ex).map((c, k) => ({ class: k, ...c })) },
  chanceShare: 6 / 65,
};
await writeFile(`${OUT}/dft-lrp.json`, JSON.stringify(report, null, 2) + '\n');
for (const c of report.frequency) process.stdout.write(`class ${c.class}: ${(100 * c.share).toFixed(1)} % of positive relevance in bins ${c.band.join('–')}, peak at bin ${c.peak}\n`);
for (const c of report.timeFrequency.check) process.stdout.write(`  STFT class ${c.class}: ${(100 * c.share).toFixed(1)} % in STFT bins ${c.band.join('–')}, peak ${c.peak}\n`);
