/**
 * End-to-end: `xsys frequency` (DFT-LRP) on the committed log-mel model — relevance.npy equals explainFrequency's,
 * frequency.json holds the per-signal sums and the mean spectrum — and its argument errors.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { explainFrequency } from '../../src/frequency/dft-lrp.js';
import { encodeNpy, parseNpy } from '../../src/io/npy.js';
import { loadMelSignals, type SignalExample } from '../../examples/dft-lrp/signals.js';
import { ensureDist, xsys } from '../helpers/cli.js';

const MODEL = 'examples/dft-lrp/mel-cnn.onnx';
let tmp: string;
let ex: SignalExample;
const count = 12;

beforeAll(async () => {
  ensureDist();
  tmp = mkdtempSync(join(tmpdir(), 'xsys-frequency-'));
  ex = await loadMelSignals();
  writeFileSync(join(tmp, 'x.npy'), encodeNpy(ex.signals.data.subarray(0, count * 512), [count, 1, 512]));
  writeFileSync(join(tmp, 'y.npy'), encodeNpy(BigInt64Array.from(ex.labels.slice(0, count), BigInt), [count], 'int64'));
}, 300_000);

describe('xsys frequency', () => {
  it('writes the DFT-LRP relevance of each waveform per bin, the sums and the mean spectrum', async () => {
    const out = join(tmp, 'freq');
    const r = await xsys('frequency', MODEL, join(tmp, 'x.npy'), '--labels', join(tmp, 'y.npy'), '-o', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/12 signals, 257 bins; mean relevance peaks at bin \d+/);
    const rel = parseNpy(new Uint8Array(readFileSync(join(out, 'relevance.npy'))), 'relevance.npy');
    expect(rel.shape).toEqual([count, 257]);
    const api = await explainFrequency(ex.model, { data: ex.signals.data.subarray(0, count * 512), dims: [count, 1, 512] }, { target: ex.labels.slice(0, count) });
    const got = rel.data as Float32Array;
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(api.relevance[i]!, 5);
    const report = JSON.parse(readFileSync(join(out, 'frequency.json'), 'utf8')) as { bins: number; perSignal: { target: number; score: number; relevanceSum: number }[]; meanSpectrum: number[] };
    expect(report.perSignal.map((s) => s.target)).toEqual(ex.labels.slice(0, count));
    for (const [i, s] of report.perSignal.entries()) expect(s.relevanceSum).toBeCloseTo(api.relevance.subarray(i * 257, (i + 1) * 257).reduce((a, b) => a + b, 0), 4);
    expect(report.meanSpectrum).toHaveLength(257);
    expect(readFileSync(join(out, 'spectrum.png')).subarray(1, 4).toString()).toBe('PNG');
  }, 120_000);

  it('time-frequency: [n, frames, bins]; bad arguments are errors that name them', async () => {
    const out = join(tmp, 'tf');
    const r = await xsys('frequency', MODEL, join(tmp, 'x.npy'), '--domain', 'time-frequency', '--window', '64', '--target', 'pred', '-o', out);
    expect(r.code, r.stderr).toBe(0);
    // 512 samples, window 64, hop 32: 17 frames of 33 bins.
    expect(parseNpy(new Uint8Array(readFileSync(join(out, 'relevance.npy'))), 'relevance.npy').shape).toEqual([count, 17, 33]);
    const bad = await xsys('frequency', MODEL, join(tmp, 'x.npy'), '--domain', 'mel', '-o', out);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--domain: must be one of frequency, time-frequency, got 'mel'/);
    const feed = await xsys('frequency', MODEL, join(tmp, 'x.npy'), '--feed', 'state=y.npy', '-o', out);
    expect(feed.stderr).toMatch(/--feed: the model has no input named 'state'/);
    const help = await xsys('--help');
    expect(help.stdout).toMatch(/frequency \[options\] <model> <signals>\s+DFT-LRP/);
  }, 120_000);
});
