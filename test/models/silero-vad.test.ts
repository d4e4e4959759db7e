/**
 * Silero VAD v5 (MIT; shipped in the npm package @ricky0123/vad-web, fetched with `npm pack` into the temp folder
 * on first use, as CI has the npm registry): the whole network sits inside an If on the sample rate `sr`, with an
 * LSTM, a reflect-padded STFT and shape-testing Ifs inside. `xsys explain` compiles it for the inputs as given
 * (input [1, 512], state [2, 1, 128], scalar sr = 16000): every If is then decided, the LSTM unrolled. Without the
 * package (no registry) the tests are skipped with the reason.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileExplainer } from '../../src/compiler/compile.js';
import { inspectModel } from '../../src/compiler/inspect.js';
import { encodeNpy, parseNpy } from '../../src/io/npy.js';
import { parseModel } from '../../src/onnx/model.js';
import { xsys } from '../helpers/cli.js';
import { npmFile } from '../helpers/npm-pack.js';

const PACKAGE = '@ricky0123/vad-web@0.0.31';

const fetched = await npmFile(PACKAGE, 'dist/silero_vad_v5.onnx');
if (!fetched.path) console.warn(`skipping the Silero VAD tests: ${fetched.reason}`);

describe.skipIf(!fetched.path)('Silero VAD v5 (If on the sample rate, LSTM inside)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xsys-silero-'));
  const n = 512;
  const x = Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(i / 5) + 0.05 * Math.sin(i * 1.3));
  const state = Float32Array.from({ length: 256 }, (_, i) => 0.1 * Math.cos(i));
  writeFileSync(join(dir, 'input.npy'), encodeNpy(x, [1, n]));
  writeFileSync(join(dir, 'state.npy'), encodeNpy(state, [2, 1, 128]));
  writeFileSync(join(dir, 'sr.npy'), encodeNpy(BigInt64Array.of(16000n), [], 'int64'));

  it.each([
    ['lrp', ['--composite', 'epsilon-plus-flat']],
    ['gradient', []],
  ])('xsys explain --method %s with its three inputs as given: finite attributions for input and state', async (method, extra) => {
    const out = join(dir, method);
    const r = await xsys('explain', fetched.path!, '--input', `input=${join(dir, 'input.npy')}`, '--input', `state=${join(dir, 'state.npy')}`, '--input', `sr=${join(dir, 'sr.npy')}`, '--method', method, ...extra, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    for (const [file, len] of [['input.input.npy', n], ['input.state.npy', 256]] as const) {
      const a = parseNpy(new Uint8Array(readFileSync(join(out, file))), file).data as Float32Array;
      expect(a.length).toBe(len);
      expect(a.every(Number.isFinite)).toBe(true);
      expect(a.some((v) => v !== 0)).toBe(true);
    }
  }, 240_000);

  it('without the inputs at hand, inspect and compile agree (the shape-testing Ifs stay: the batch size is unknown)', () => {
    const model = parseModel(new Uint8Array(readFileSync(fetched.path!)));
    const r = inspectModel(model, 'epsilon-plus-flat');
    expect(r.subgraphOps.LSTM).toBeGreaterThanOrEqual(2);
    let error: unknown;
    try {
      compileExplainer(model, { method: 'lrp' });
    } catch (e) {
      error = e;
    }
    expect(r.unsupported.length > 0).toBe(error !== undefined);
    // Specialised to the inputs, everything is resolved: the sample-rate If, the LSTM, nothing unsupported.
    const c = compileExplainer(model, { method: 'gradient', specialize: { shapes: { input: [1, n], state: [2, 1, 128] }, values: { sr: [16000] } } });
    expect(c.reports.some((x2) => x2.canonicalizer === 'recurrent' && /unrolled over 1 time steps/.test(x2.detail))).toBe(true);
  }, 120_000);
});
