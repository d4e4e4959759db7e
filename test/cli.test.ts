/**
 * End-to-end tests of the CLI (`node bin/xsys.js`, which runs the compiled dist/). dist/ is rebuilt with tsc first
 * when it is missing or older than src/ (in CI, `npm ci` has already built it through `prepare`).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, xsys } from './helpers/cli.js';
import { toFloat32 } from '../src/io/npy.js';
import { readNpy, writeNpy } from '../src/io/npy-file.js';
import { relErr } from './helpers/onnx.js';

const FIX = 'test/fixtures/conformance';
const MLP = `${FIX}/models/mlp.onnx`;
const VGGISH = `${FIX}/models/vggish.onnx`;
const VGGISH_IN = `${FIX}/inputs/vggish.npy`;
const MLP_IN = `${FIX}/inputs/mlp.npy`;



/** No stack trace lines ("    at fn (file:line)") in what the user sees. */
function expectNoStack(s: string) {
  expect(s).not.toMatch(/^\s+at /m);
}

let tmp: string;
beforeAll(() => {
  ensureDist();
  tmp = mkdtempSync(join(tmpdir(), 'xsys-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('xsys explain', () => {
  it('writes an attribution .npy, a heatmap .png and summary.json per sample of an image batch', async () => {
    const out = join(tmp, 'explain-vggish');
    const r = await xsys('explain', VGGISH, VGGISH_IN, '--target', '1,2', '--out', out);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('wrote 2 attribution(s)');
    for (const stem of ['vggish-0', 'vggish-1']) {
      const a = await readNpy(join(out, `${stem}.npy`));
      expect(a.shape).toEqual([1, 3, 32, 32]);
      expect(a.dtype).toBe('float32');
      expect(toFloat32(a).some((v) => v !== 0)).toBe(true);
      const png = readFileSync(join(out, `${stem}.png`));
      expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    }
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { input: string; target: number; composite: string; attributionShape: number[]; logits: number[] }[];
    expect(summary.map((s) => s.input)).toEqual(['vggish-0', 'vggish-1']);
    expect(summary.map((s) => s.target)).toEqual([1, 2]);
    expect(summary[0]!.composite).toBe('epsilon-plus-flat');
    expect(summary[0]!.attributionShape).toEqual([1, 3, 32, 32]);
    expect(summary[0]!.logits).toHaveLength(10);
  });

  it('the attribution it writes is the conformance reference (vggish, epsilon-plus-flat, targets from the manifest)', async () => {
    const manifest = JSON.parse(readFileSync(`${FIX}/manifest.json`, 'utf8')) as { cases: { id: string; targets: number[] }[] };
    const targets = manifest.cases.find((c) => c.id === 'vggish/epsilon-plus-flat')!.targets;
    const out = join(tmp, 'explain-ref');
    const r = await xsys('explain', VGGISH, VGGISH_IN, '-c', 'epsilon-plus-flat', '-t', targets.join(','), '-o', out);
    expect(r.code).toBe(0);
    const expected = toFloat32(await readNpy(`${FIX}/expected/vggish__epsilon-plus-flat.npy`));
    const got = new Float32Array(expected.length);
    got.set(toFloat32(await readNpy(join(out, 'vggish-0.npy'))), 0);
    got.set(toFloat32(await readNpy(join(out, 'vggish-1.npy'))), expected.length / 2);
    expect(relErr(got, expected)).toBeLessThan(5e-4);
  });

  // Vector inputs (an MLP) have no image to render; the attribution and summary must still be written.
  it('explains a model with vector input (MLP): .npy and summary.json, exit 0', async () => {
    const out = join(tmp, 'explain-mlp');
    const r = await xsys('explain', MLP, MLP_IN, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const a = await readNpy(join(out, 'mlp-0.npy'));
    expect(a.shape).toEqual([1, 16]);
    expect(existsSync(join(out, 'summary.json'))).toBe(true);
  });
});

describe('xsys conformance / compile / inspect', () => {
  it('conformance --filter mlp passes every MLP case', async () => {
    const r = await xsys('conformance', `${FIX}/manifest.json`, '--filter', 'mlp');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^10 passed, 0 failed/m);
    expect(r.stdout).not.toContain('FAIL');
    expect(r.stdout).not.toContain('vgg');
  });

  it('conformance --json reports the cases', async () => {
    const r = await xsys('conformance', `${FIX}/manifest.json`, '--filter', 'mlp/gradient', '--json');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as { passed: number; failed: number; cases: { id: string }[] };
    expect(rep.cases.map((c) => c.id).sort()).toEqual(['mlp/gradient', 'mlp/gradient-x-input']);
    expect(rep.failed).toBe(0);
  });

  it('compile -o writes a standalone explainer that ONNX Runtime runs to the reference attribution', async () => {
    const file = join(tmp, 'mlp-explainer.onnx');
    const r = await xsys('compile', MLP, '-o', file);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('xsys_seed');
    const session = await ort.InferenceSession.create(file);
    expect([...session.inputNames].sort()).toEqual(['input', 'xsys_seed']);
    const attrName = session.outputNames.find((n) => n.startsWith('attribution_'))!;
    expect(attrName).toBeDefined();
    const x = toFloat32(await readNpy(MLP_IN));
    // Targets [2, 2] as in the manifest; LRP seed convention: the seed is the one-hot target.
    const seed = Float32Array.of(0, 0, 1, 0, 0, 1);
    const out = await session.run({ input: new ort.Tensor('float32', x, [2, 16]), xsys_seed: new ort.Tensor('float32', seed, [2, 3]) });
    const logits = out.logits!.data as Float32Array;
    const refLogits = toFloat32(await readNpy(`${FIX}/expected/mlp__logits.npy`));
    expect(relErr(logits, refLogits)).toBeLessThan(1e-5);
    const expected = toFloat32(await readNpy(`${FIX}/expected/mlp__epsilon-plus-flat.npy`));
    expect(out[attrName]!.dims).toEqual([2, 16]);
    expect(relErr(out[attrName]!.data as Float32Array, expected)).toBeLessThan(5e-4);
    await session.release();
  });

  it('compile --composite file.json compiles the user-defined composite (as explain does)', async () => {
    const comp = join(tmp, 'eps-half.json');
    writeFileSync(comp, JSON.stringify({ name: 'eps-half', entries: [{ match: { kind: 'dense' }, rule: 'epsilon', params: { epsilon: 0.5 } }] }));
    const file = join(tmp, 'mlp-eps-half.onnx');
    const r = await xsys('compile', MLP, '--composite', comp, '-o', file);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const session = await ort.InferenceSession.create(file);
    const attrName = session.outputNames.find((n) => n.startsWith('attribution_'))!;
    const x = toFloat32(await readNpy(MLP_IN));
    const out = await session.run({ input: new ort.Tensor('float32', x, [2, 16]), xsys_seed: new ort.Tensor('float32', Float32Array.of(0, 0, 1, 0, 0, 1), [2, 3]) });
    const got = out[attrName]!.data as Float32Array;
    const { explain } = await import('../src/methods/explain.js');
    const ref = await explain(MLP, { data: x, dims: [2, 16] }, { method: 'lrp', composite: comp, target: [2, 2] });
    expect(relErr(got, ref.attribution.data)).toBeLessThan(1e-5);
    // Not the default composite's attribution.
    expect(relErr(got, toFloat32(await readNpy(`${FIX}/expected/mlp__epsilon-plus-flat.npy`)))).toBeGreaterThan(1e-2);
    await session.release();
    const withParam = await xsys('compile', MLP, '--composite', comp, '--param', 'epsilon=0.1', '-o', join(tmp, 'never2.onnx'));
    expect(withParam.code).toBe(2);
    expect(withParam.stderr).toMatch(/takes no parameters/);
  });

  it('inspect lists the rule of every layer', async () => {
    const r = await xsys('inspect', MLP, '-c', 'epsilon-plus');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('rules under epsilon-plus');
    expect(r.stdout).toMatch(/Gemm\s+dense\s+epsilon/);
    expect(r.stdout).toContain('all nodes on the explained path are supported');
  });
});

describe('xsys on bad input', () => {
  it('truncated ONNX: non-zero exit, names the file, no stack trace', async () => {
    const file = join(tmp, 'truncated.onnx');
    writeFileSync(file, readFileSync(VGGISH).subarray(0, 100));
    const r = await xsys('explain', file, VGGISH_IN, '-o', join(tmp, 'o1'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/truncated|not a valid ONNX/);
    expectNoStack(r.stderr);
    expect(r.stderr).not.toContain('internal error');
  });

  it('truncated ONNX for inspect and compile too', async () => {
    const file = join(tmp, 'truncated2.onnx');
    writeFileSync(file, readFileSync(MLP).subarray(0, 100));
    for (const args of [['inspect', file], ['compile', file, '-o', join(tmp, 'never.onnx')]]) {
      const r = await xsys(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(file);
      expectNoStack(r.stderr);
    }
    expect(existsSync(join(tmp, 'never.onnx'))).toBe(false);
  });

  it('unknown composite: exit 2 with the list of composites', async () => {
    const r = await xsys('explain', VGGISH, VGGISH_IN, '-c', 'no-such-composite', '-o', join(tmp, 'o2'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown composite 'no-such-composite'");
    for (const name of ['epsilon-plus', 'epsilon-alpha2-beta1-flat', 'epsilon-gamma-box', 'excitation-backprop']) expect(r.stderr).toContain(name);
    expectNoStack(r.stderr);
  });

  it('target out of range: exit 2 mentioning the class count', async () => {
    const r = await xsys('explain', VGGISH, VGGISH_IN, '-t', '10', '-o', join(tmp, 'o3'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('10 classes');
    expectNoStack(r.stderr);
  });

  it('NaN in the .npy input: exit 2 mentioning a non-finite value', async () => {
    const file = join(tmp, 'nan.npy');
    const x = toFloat32(await readNpy(VGGISH_IN)).slice(0, 3 * 32 * 32);
    x[123] = Number.NaN;
    await writeNpy(file, x, [1, 3, 32, 32]);
    const r = await xsys('explain', VGGISH, file, '-o', join(tmp, 'o4'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('non-finite');
    expect(r.stderr).toContain('123');
    expectNoStack(r.stderr);
  });

  it('wrong input shape: exit 2 naming expected and actual shapes', async () => {
    const file = join(tmp, 'small.npy');
    await writeNpy(file, new Float32Array(3 * 16 * 16).fill(0.5), [1, 3, 16, 16]);
    const r = await xsys('explain', VGGISH, file, '-o', join(tmp, 'o5'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[1, 3, 16, 16]');
    expect(r.stderr).toContain('[batch, 3, 32, 32]');
    expectNoStack(r.stderr);
  });

  it('an unknown option is a usage error (exit 2)', async () => {
    const r = await xsys('explain', VGGISH, VGGISH_IN, '--no-such-flag');
    expect(r.code).toBe(2);
    expectNoStack(r.stderr);
  });
});
