/**
 * DFT-LRP: the DFT/STFT synthesis matrices invert the analysis exactly, the model with the virtual inspection layer
 * computes what the original computes, and on the committed 1-D CNN (scripts/train_dft_signals.py) the frequency
 * relevance concentrates on each class's band — the measured band check.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { binRelevance, dftCoefficients, dftSynthesis, stftCoefficients, stftLayout, stftSynthesis } from '../../src/frequency/dft.js';
import { explainFrequency, frequencyModel, virtualComposite } from '../../src/frequency/dft-lrp.js';
import { namedComposite } from '../../src/composites/index.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { prependLinear } from '../../src/weight-surgery/prepend-linear.js';
import { inspectModel } from '../../src/compiler/inspect.js';
import { bandCheck, loadSignals, type SignalExample } from '../../examples/dft-lrp/signals.js';
import { rng, uniform } from '../helpers/onnx.js';

function matVec(m: Float32Array, rows: number, cols: number, v: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: rows }, (_, i) => {
    let s = 0;
    for (let j = 0; j < cols; j++) s += m[i * cols + j]! * v[j]!;
    return s;
  });
}

let ex: SignalExample;
beforeAll(async () => {
  ex = await loadSignals();
});

describe('DFT and STFT as matrices', () => {
  it('the inverse DFT matrix gives the signal back from its one-sided spectrum', () => {
    const x = uniform(rng(3), 16);
    const f = dftCoefficients(x, 16);
    expect(f).toHaveLength(18);
    // X_0 is the sum; a cosine at bin 2 has Re X_2 = N/2.
    expect(f[0]).toBeCloseTo(x.reduce((a, b) => a + b, 0), 4);
    const cos = Float32Array.from({ length: 16 }, (_, t) => Math.cos((2 * Math.PI * 2 * t) / 16));
    expect(dftCoefficients(cos, 16)[2]).toBeCloseTo(8, 4);
    const back = matVec(dftSynthesis(16), 16, 18, f);
    for (let i = 0; i < 16; i++) expect(back[i]).toBeCloseTo(x[i]!, 4);
    expect(Array.from(binRelevance([1, 2, 3, 4, 5, 6], 4))).toEqual([5, 7, 9]);
  });

  it('overlap-added inverse DFTs of Hann-windowed frames give the signal back', () => {
    const layout = stftLayout(64, 16);
    expect(layout).toMatchObject({ hop: 8, frames: 9, perFrame: 18, size: 162 });
    const x = uniform(rng(4), 64);
    const back = matVec(stftSynthesis(layout), 64, layout.size, stftCoefficients(x, layout));
    for (let i = 0; i < 64; i++) expect(back[i]).toBeCloseTo(x[i]!, 4);
    expect(() => stftLayout(64, 15)).toThrow(/--window: must be an even integer/);
    expect(() => stftLayout(60, 16)).toThrow(/multiple of the hop 8/);
  });
});

describe('the virtual inspection layer', () => {
  it('the model on DFT or STFT coefficients computes the original scores; inspect supports it', async () => {
    const x = ex.signals.data.subarray(0, 8 * 128);
    const a = await (await ModelExplainer.load(ex.model)).scores({ data: x, dims: [8, 1, 128] });
    for (const domain of ['frequency', 'time-frequency'] as const) {
      const fm = frequencyModel(ex.model, 128, { domain, window: 32 });
      const coef = fm.coefficients(x);
      const b = await (await ModelExplainer.load(fm.model)).scores({ data: coef, dims: [8, 1, coef.length / 8] });
      for (let i = 0; i < a.data.length; i++) expect(b.data[i]).toBeCloseTo(a.data[i]!, 3);
      expect(inspectModel(fm.model, virtualComposite(ex.model, fm.node, namedComposite('epsilon-plus'))).unsupported).toEqual([]);
    }
    expect(() => prependLinear(ex.model, new Float32Array(64 * 66), 64, 66)).toThrow(/'signal' has 128 samples on its last axis, the synthesis matrix 64/);
    expect(() => prependLinear(ex.model, new Float32Array(6), 2, 4)).toThrow(/6 values are not an 2×4 matrix/);
  });

  it('the ε-rule on the virtual layer, the composite\'s first-layer rule (else ε) on the original first layer', () => {
    const fm = frequencyModel(ex.model, 128);
    const c = virtualComposite(ex.model, fm.node, namedComposite('epsilon-plus-flat'));
    expect(c.entries[0]).toEqual({ match: { name: fm.node }, rule: 'epsilon', params: { epsilon: 1e-6 } });
    expect(c.entries[1]).toMatchObject({ match: { name: '/conv1/Conv' }, rule: 'flat' });
    // Without a first-layer rule, the first layer reads the signed signal as the virtual layer does: ε, not z⁺.
    const e = virtualComposite(ex.model, fm.node, namedComposite('epsilon-plus'));
    expect(e.entries[1]).toEqual({ match: { name: '/conv1/Conv' }, rule: 'epsilon', params: { epsilon: 1e-6 } });
  });
});

describe('DFT-LRP band check on the 1-D CNN', () => {
  it('frequency relevance concentrates on each class band (and so does the time-frequency relevance)', async () => {
    for (const domain of ['frequency', 'time-frequency'] as const) {
      const r = await explainFrequency(ex.model, ex.signals, { target: ex.labels, domain, window: 32 });
      expect(r.targets).toEqual(ex.labels);
      const check = bandCheck(r, ex);
      for (const c of check) {
        // Chance is the band's width over all bins (≈ 6/65 in frequency); measured 0.77–0.88 in frequency, 0.80–0.90 in
        // time-frequency (0.76–0.84 with z⁺ on the first conv instead of ε).
        expect(c.share).toBeGreaterThan(0.6);
        expect(c.peak).toBeGreaterThanOrEqual(c.band[0]);
        expect(c.peak).toBeLessThanOrEqual(c.band[1]);
      }
    }
  }, 120_000);
});
