/**
 * DFT-LRP on examples/dft-lrp (the 1-D CNN of scripts/train_dft_signals.py): relevance of the 400 test signals for
 * their class in the frequency domain (inverse DFT as the virtual inspection layer) and in time-frequency (inverse
 * STFT, Hann window 32, hop 16). Writes docs/dft-lrp/dft-lrp.json (the band check), spectra.svg/png (mean relevance
 * spectrum per class, bands marked in the legend) and spectrograms.png (mean time-frequency relevance per class,
 * frequency upwards, time to the right). Then the log-mel model of scripts/train_mel_signals.py (its own STFT, power,
 * mel filterbank and Log inside the graph) on its 200 test waveforms: the band check and conservation through the front
 * end in docs/dft-lrp/mel.json, the mean relevance spectra in mel-spectra.svg/png.
 *
 *   node --import tsx scripts/dft-lrp-example.ts
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { explainFrequency } from '../src/frequency/dft-lrp.js';
import { lineChart } from '../src/correction/charts.js';
import { svgToPng } from '../src/evaluation/report/chart.js';
import { writePng } from '../src/render/png.js';
import { heatmapStrip } from '../src/render/strategy-images.js';
import { bandCheck, loadMelSignals, loadSignals, meanSpectrum } from '../examples/dft-lrp/signals.js';

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

// The log-mel model: DFT-LRP on its waveform input, relevance at the log-mel features to check conservation.
const mel = await loadMelSignals();
const mf = await explainFrequency(mel.model, mel.signals, { target: mel.labels, relevanceAt: ['/Log_output_0'] });
const melRows = (c: number) => mel.labels.flatMap((l, i) => (l === c ? [i] : []));
const melSvg = lineChart('DFT-LRP through a log-mel front end: mean relevance per frequency bin, by class', `log-mel CNN on ${mel.labels.length} raw waveforms (8 kHz, 512 samples); class bands ${mel.bands.map(([a, b]) => `${a}–${b}`).join(', ')}; distractor 190–220 in every class`, 'DFT bin (15.625 Hz)', 'relevance / Σ|R|', mel.bands.map((_, c) => ({ name: `class ${c} (bins ${mel.bands[c]![0]}–${mel.bands[c]![1]})`, points: Array.from(meanSpectrum(mf, melRows(c)), (v, k) => [k, v] as const) })));
await writeFile(`${OUT}/mel-spectra.svg`, melSvg);
await writeFile(`${OUT}/mel-spectra.png`, await svgToPng(melSvg));
const logmel = mf.relevanceAt['/Log_output_0']!;
const perSig = logmel.length / mel.labels.length;
let worst = 0;
let binsTotal = 0;
let logits = 0;
for (let i = 0; i < mel.labels.length; i++) {
  let rf = 0;
  for (let k = 0; k < mf.bins; k++) rf += mf.relevance[i * mf.bins + k]!;
  let rl = 0;
  let abs = 0;
  for (let j = i * perSig; j < (i + 1) * perSig; j++) {
    rl += logmel[j]!;
    abs += Math.abs(logmel[j]!);
  }
  worst = Math.max(worst, Math.abs(rf - rl) / abs);
  binsTotal += rf;
  logits += mf.scores.data[i * 4 + mel.labels[i]!]!;
}
const melReport = {
  model: 'examples/dft-lrp/mel-cnn.onnx',
  composite: 'epsilon-plus (ε on the virtual layer and on the STFT conv, pass on Pow and Log, ε on the mel MatMul)',
  frequency: bandCheck(mf, mel).map((c, k) => ({ class: k, ...c })),
  conservation: { worstPerSignal: worst, note: '|ΣR over bins − ΣR at the log-mel features| / Σ|R at the log-mel features|, worst signal', binsOverLogits: binsTotal / logits },
};
await writeFile(`${OUT}/mel.json`, JSON.stringify(melReport, null, 2) + '\n');
for (const c of melReport.frequency) process.stdout.write(`mel class ${c.class}: ${(100 * c.share).toFixed(1)} % in bins ${c.band.join('–')}, peak ${c.peak}\n`);
process.stdout.write(`mel conservation: worst ${worst.toExponential(2)}, ΣR/Σlogit ${(binsTotal / logits).toFixed(3)}\n`);
