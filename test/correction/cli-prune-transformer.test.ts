/**
 * `xsys prune --granularity heads|neurons` end to end on the tiny PyTorch exports of test/fixtures/prune-transformer:
 * relevance, magnitude and named units, the composite tuning with its report, and the refusals.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/io/npy-file.js';
import { readNpy } from '../../src/io/npy-file.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { argmaxRows } from '../../src/runtime/tensor.js';
import { ensureDist, xsys } from '../helpers/cli.js';

const FIX = 'test/fixtures/prune-transformer';
const MODEL = `${FIX}/tiny-dynamic.onnx`;
const X = `${FIX}/x.npy`;
let tmp: string;
let labels: string;

beforeAll(async () => {
  ensureDist();
  tmp = mkdtempSync(join(tmpdir(), 'xsys-prune-tf-'));
  // Labels = the model's own predictions: the unpruned model is 100 % accurate on them.
  const x = await readNpy(X);
  const sc = await (await ModelExplainer.load(MODEL)).scores({ data: Float32Array.from(x.data as Float32Array), dims: x.shape });
  labels = join(tmp, 'labels.npy');
  await writeNpy(labels, BigInt64Array.from(argmaxRows(sc.data, x.shape[0]!), (v) => BigInt(v)), [x.shape[0]!], 'int64');
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('xsys prune --granularity heads|neurons', () => {
  it('prunes heads by relevance, neurons by magnitude, named units; the results load, inspect and explain', async () => {
    const out = join(tmp, 'pruned.onnx');
    let r = await xsys('prune', MODEL, X, '--granularity', 'heads', '--fraction', '0.5', '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/att\/o\/MatMul: removed 1 of 2 heads \[[01]\]/);
    // q, k, v: 3 × 4 × (8 + 1) and 4 output rows × 8 of 595 parameters (4 × (64 + 8) attention, 144 + 136 MLP, 27 head).
    expect(r.stdout).toMatch(/relevance over 4 inputs: 595 → 455 parameters \(23\.5 % removed\)/);
    expect((await xsys('inspect', out)).code).toBe(0);
    r = await xsys('explain', out, X, '-c', 'attnlrp', '-o', join(tmp, 'explained'));
    expect(r.code).toBe(0);
    r = await xsys('prune', MODEL, '--granularity', 'neurons', '--criterion', 'magnitude', '--fraction', '0.25', '-o', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/mlp\/up\/MatMul: removed 4 of 16 neurons/);
    expect(r.stdout).toMatch(/weight magnitude \(L1\): 595 → 527 parameters/);
    r = await xsys('prune', MODEL, '--granularity', 'heads', '--units', '/att/Reshape_3_output_0:1', '-o', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/att\/o\/MatMul: removed 1 of 2 heads \[1\]/);
  }, 240_000);

  it('--tune scores the grid on the validation split, reports it and prunes with the choice', async () => {
    const out = join(tmp, 'tuned.onnx');
    const report = join(tmp, 'report.json');
    const r = await xsys('prune', MODEL, X, '--labels', labels, '--granularity', 'neurons', '--fraction', '0.5', '--tune', '--grid', 'attnlrp;cp-lrp;attnlrp(dense-gamma=0.25)', '--validation', X, '--validation-labels', labels, '--report', report, '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/tune attnlrp +validation accuracy \d+\.\d\d %/);
    expect(r.stdout).toMatch(/tune magnitude \(L1\) +validation accuracy .*unpruned 100\.00 %/);
    const rep = JSON.parse(readFileSync(report, 'utf8')) as { tuning: { grid: { label: string; accuracy: number }[]; chosen: string; fraction: number; validationSamples: number }; layers: { node: string; kept: number }[] };
    expect(rep.tuning.grid.map((g) => g.label)).toEqual(['attnlrp', 'cp-lrp', 'attnlrp(dense-gamma=0.25)']);
    expect(rep.tuning.validationSamples).toBe(4);
    const best = Math.max(...rep.tuning.grid.map((g) => g.accuracy));
    expect(rep.tuning.grid.find((g) => g.label === rep.tuning.chosen)!.accuracy).toBe(best);
    expect(rep.layers).toEqual([{ node: '/mlp/up/MatMul', removed: expect.any(Array), kept: 8 }]);
    expect(r.stdout).toContain(`relevance (${rep.tuning.chosen}, tuned on 4 validation inputs) over 4 inputs`);
  }, 240_000);

  it('names what it cannot prune', async () => {
    const out = join(tmp, 'x.onnx');
    let r = await xsys('prune', `${FIX}/tiny-mha.onnx`, '--granularity', 'heads', '--criterion', 'magnitude', '--fraction', '0.5', '-o', out);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/node '\/att\/Slice' \(Slice\): the query of the attention at \/att\/Softmax .*nn\.MultiheadAttention's in_proj\): not supported/);
    r = await xsys('prune', 'examples/mnist/mnist-cnn.onnx', '--granularity', 'heads', '--criterion', 'magnitude', '--fraction', '0.5', '-o', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no attention layers recognised/);
    r = await xsys('prune', MODEL, X, '--granularity', 'heads', '--fraction', '0.5', '--grid', 'attnlrp', '-o', out);
    expect(r.stderr).toMatch(/--grid: applies to --tune only/);
    r = await xsys('prune', MODEL, X, '--granularity', 'heads', '--fraction', '0.5', '--tune', '-o', out);
    expect(r.stderr).toMatch(/--tune: needs labelled validation inputs/);
    r = await xsys('prune', MODEL, '--granularity', 'neurons', '--channels', '/mlp/up/MatMul:1', '-o', out);
    expect(r.stderr).toMatch(/--channels: names channels, but --granularity is neurons/);
  }, 240_000);
});
