/**
 * DFT-LRP on models that compute their own spectrogram, as shipped audio models do: the committed log-mel CNN of
 * scripts/train_mel_signals.py (reflect pad, STFT Conv1d, Pow, mel MatMul, Log inside the graph) and Silero VAD v5
 * (reflect pad, STFT Conv1d, Pow, Sqrt, inside an If on the sample rate, an LSTM after it). The virtual inspection
 * layer goes in front of the waveform input; every front-end op gets a rule that conserves relevance, and the
 * frequency relevance of the mel model concentrates on each class's band.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { explainFrequency, frequencyModel, virtualComposite, type FrequencyRelevance } from '../../src/frequency/dft-lrp.js';
import { namedComposite } from '../../src/composites/index.js';
import { inspectModel } from '../../src/compiler/inspect.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { readModel } from '../../src/onnx/file.js';
import { npmFile } from '../helpers/npm-pack.js';
import { bandCheck, loadMelSignals, type SignalExample } from '../../examples/dft-lrp/signals.js';

let ex: SignalExample;
let freq: FrequencyRelevance;
beforeAll(async () => {
  ex = await loadMelSignals();
  freq = await explainFrequency(ex.model, ex.signals, { target: ex.labels, relevanceAt: ['/Log_output_0'] });
}, 120_000);

const sum = (a: ArrayLike<number>, from = 0, to = a.length): number => {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i]!;
  return s;
};

describe('DFT-LRP on a log-mel front end inside the graph', () => {
  it('every front-end op gets a relevance rule: ε on the linear maps, pass on the element-wise non-linearities', () => {
    const fm = frequencyModel(ex.model, 512);
    const ins = inspectModel(fm.model, virtualComposite(ex.model, fm.node, namedComposite('epsilon-plus')));
    expect(ins.unsupported).toEqual([]);
    const rule = (name: string) => ins.units.find((u) => u.name === name)!;
    expect(rule(fm.node)).toMatchObject({ kind: 'dense', rule: 'epsilon(epsilon=0.000001)' });
    // The STFT conv reads the signed signal: ε, not the z⁺ of the classifier's convolutions (see virtualComposite).
    expect(rule('/Conv')).toMatchObject({ kind: 'conv', rule: 'epsilon(epsilon=0.000001)' });
    expect(rule('/Pow')).toMatchObject({ kind: 'activation', rule: 'pass' });
    expect(rule('/Add')).toMatchObject({ kind: 'sum', rule: 'norm(stabilizer=0.000001)' });
    expect(rule('/MatMul')).toMatchObject({ kind: 'dense', rule: 'epsilon(epsilon=0.000001)' });
    expect(rule('/Log')).toMatchObject({ kind: 'activation', rule: 'pass' });
    expect(rule('/conv1/Conv')).toMatchObject({ kind: 'conv', rule: 'zplus(stabilizer=0.000001)' });
  });

  it('the model on DFT coefficients computes the original logits', async () => {
    const x = { data: ex.signals.data.subarray(0, 16 * 512), dims: [16, 1, 512] };
    const a = await (await ModelExplainer.load(ex.model)).scores(x);
    for (let i = 0; i < a.data.length; i++) expect(freq.scores.data[i]).toBeCloseTo(a.data[i]!, 3);
  });

  it('relevance is conserved from the log-mel features to the frequency bins (and the target logit is explained)', () => {
    const logmel = freq.relevanceAt['/Log_output_0']!;
    const per = logmel.length / ex.labels.length;
    let worst = 0;
    let rTotal = 0;
    let logits = 0;
    for (let i = 0; i < ex.labels.length; i++) {
      const rf = sum(freq.relevance, i * freq.bins, (i + 1) * freq.bins);
      const rl = sum(logmel, i * per, (i + 1) * per);
      let abs = 0;
      for (let j = i * per; j < (i + 1) * per; j++) abs += Math.abs(logmel[j]!);
      worst = Math.max(worst, Math.abs(rf - rl) / abs);
      rTotal += rf;
      logits += freq.scores.data[i * 4 + ex.labels[i]!]!;
    }
    const ratio = rTotal / logits;
    // Measured: |ΣR_bins − ΣR_log-mel| ≤ 4.3·10⁻⁷ Σ|R_log-mel| per signal (the ε stabilisers). The classifier's biases
    // make up the difference to the logit: over the 200 signals ΣR_bins = 1.11 × Σ target logits.
    expect(worst).toBeLessThan(1e-5);
    expect(ratio).toBeGreaterThan(1);
    expect(ratio).toBeLessThan(1.25);
    expect(freq.relevance.every(Number.isFinite)).toBe(true);
  });

  it('frequency relevance concentrates on each class band (band check)', () => {
    const check = bandCheck(freq, ex);
    for (const c of check) {
      // Chance is the band's width ± 1 bin over 257 bins (4–9 %); measured 0.84, 0.84, 0.83, 0.66, peaks at bins 18, 43, 85, 141.
      expect(c.share).toBeGreaterThan(0.6);
      expect(c.peak).toBeGreaterThanOrEqual(c.band[0]);
      expect(c.peak).toBeLessThanOrEqual(c.band[1]);
    }
  });
});

// Silero VAD v5 from the npm package, as test/models/silero-vad.test.ts fetches it.
const PACKAGE = '@ricky0123/vad-web@0.0.31';
const silero = await npmFile(PACKAGE, 'dist/silero_vad_v5.onnx');
if (!silero.path) console.warn(`skipping DFT-LRP on Silero VAD: ${silero.reason}`);

describe.skipIf(!silero.path)('DFT-LRP on Silero VAD v5 (STFT conv inside an If on the sample rate)', () => {
  it('runs with finite, conserved relevance that lies on the frequencies of the signal', async () => {
    const model = await readModel(silero.path!);
    const n = 512;
    // Two sinusoids: 0.3·sin(t/5) at DFT bin 512/(10π) ≈ 16.3, 0.05·sin(1.3t) at bin 1.3·512/(2π) ≈ 105.9.
    const x = Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(i / 5) + 0.05 * Math.sin(i * 1.3));
    const state = Float32Array.from({ length: 256 }, (_, i) => 0.1 * Math.cos(i));
    const magnitude = 'If_0_then_branch__Inline_0__/stft/Sqrt_output_0';
    const r = await explainFrequency(model, { data: x, dims: [1, n] }, {
      input: 'input',
      feeds: { state: { data: state, dims: [2, 1, 128] }, sr: { dtype: 'int64', data: BigInt64Array.of(16000n), dims: [] } },
      target: 0,
      relevanceAt: [magnitude],
    });
    expect(r.bins).toBe(257);
    expect(r.relevance.every(Number.isFinite)).toBe(true);
    const rf = sum(r.relevance);
    // Through the front end (virtual layer, reflect pad, STFT conv, Pow, Add, Sqrt) relevance is conserved: measured
    // 0.075709 on the bins, 0.075726 at the magnitude spectrogram.
    expect(rf).toBeCloseTo(sum(r.relevanceAt[magnitude]!), 4);
    // Frequencies (0.0757) and recurrent state (0.0265) together explain 86 % of the speech probability (0.119);
    // the biases take the rest.
    const total = rf + sum(r.others.state!);
    expect(total / r.scores.data[0]!).toBeGreaterThan(0.8);
    expect(total / r.scores.data[0]!).toBeLessThan(1);
    // Measured: 94 % of Σ|R| on bins 15–18 and 104–107, the two sinusoids.
    let near = 0;
    let all = 0;
    r.relevance.forEach((v, k) => {
      all += Math.abs(v);
      if ((k >= 15 && k <= 18) || (k >= 104 && k <= 107)) near += Math.abs(v);
    });
    expect(near / all).toBeGreaterThan(0.9);
  }, 120_000);
});
