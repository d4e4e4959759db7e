/**
 * Issue 10, defects 6, 9 and 10 on the command line: bad output paths, a bad regular expression in a composite file,
 * conformance manifests whose model is missing or not ONNX, float64 inputs, scalar and empty .npy inputs, and an LSTM
 * on the explained path. Each is a clear message with its exit code (2 bad input, 3 unsupported), never exit 70.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { create } from '@bufbuild/protobuf';
import { ValueInfoProtoSchema } from 'onnx-buf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { inspectModel } from '../../src/compiler/inspect.js';
import { compileExplainer } from '../../src/compiler/compile.js';
import { UnsupportedNodeError } from '../../src/errors.js';
import { encodeNpy } from '../../src/io/npy.js';
import { serializeModel } from '../../src/onnx/model.js';
import { ensureDist, xsys } from '../helpers/cli.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';

const MLP = 'test/fixtures/conformance/models/mlp.onnx';
const MLP_IN = 'test/fixtures/conformance/inputs/mlp.npy';
let tmp: string;

/** x [5, 1, 4] → LSTM (hidden 3) → its last hidden state (the node's second output) → Flatten → Gemm → y [1, 2]. */
function lstmModel() {
  const h = 3;
  const inp = 4;
  return buildModel({
    nodes: [
      makeNode('LSTM', ['x', 'W', 'R'], ['', 'hN'], 'lstm', { hidden_size: { int: h } }),
      makeNode('Flatten', ['hN'], ['flat'], 'flat'),
      makeNode('Gemm', ['flat', 'fcW'], ['y'], 'fc', { transB: { int: 1 } }),
    ],
    initializers: [
      floatTensor('W', new Float32Array(4 * h * inp).fill(0.1), [1, 4 * h, inp]),
      floatTensor('R', new Float32Array(4 * h * h).fill(0.1), [1, 4 * h, h]),
      floatTensor('fcW', new Float32Array(2 * h).fill(0.2), [2, h]),
    ],
    // A time axis unknown at compile time: the recurrent canonicaliser cannot unroll it (a fixed length it can).
    inputs: [valueInfo('x', ['T', 1, inp])],
    outputs: [valueInfo('y', [1, 2])],
  });
}

beforeAll(() => {
  ensureDist();
  tmp = mkdtempSync(join(tmpdir(), 'xsys-cli-errors-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const expectClear = (r: Awaited<ReturnType<typeof xsys>>, code: number, re: RegExp) => {
  expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
  expect(r.stderr).toMatch(re);
  expect(r.code).toBe(code);
};

describe('defect 10: inspect refuses what compile refuses', () => {
  it('an LSTM on the explained path (reached through its second output) that cannot be unrolled is listed as unsupported, as compile refuses it', async () => {
    const info = inspectModel(lstmModel(), 'epsilon-plus-flat', {});
    expect(info.unsupported).toEqual([{ node: 'lstm', op: 'LSTM', hint: expect.stringMatching(/unrolled .* when its sequence length is known at compile time/) }]);
    expect(info.units.map((u) => u.name)).toContain('lstm');
    expect(() => compileExplainer(lstmModel(), { method: 'gradient' })).toThrow(UnsupportedNodeError);
  });

  it('xsys inspect exits 3 and names the LSTM', async () => {
    const file = join(tmp, 'lstm.onnx');
    writeFileSync(file, serializeModel(lstmModel()));
    const r = await xsys('inspect', file);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/UNSUPPORTED nodes on the explained path:\n {2}lstm \(LSTM\)/);
    expect(r.stdout).not.toContain('all nodes on the explained path are supported');
  });
});

describe('defect 6: clear errors instead of exit 70', () => {
  it('compile -o into a missing directory or onto a directory', async () => {
    expectClear(await xsys('compile', MLP, '-o', join(tmp, 'missing', 'x.onnx')), 2, /error: '.*missing\/x\.onnx': no such file, or its directory '.*missing' does not exist/);
    mkdirSync(join(tmp, 'adir'));
    expectClear(await xsys('compile', MLP, '-o', join(tmp, 'adir')), 2, /error: '.*adir' is a directory, but a file is needed here/);
  });

  it('explain --out onto an existing file', async () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    expectClear(await xsys('explain', MLP, MLP_IN, '--out', file), 2, /error: '.*a-file': a file is in the way where a directory is needed/);
  });

  it('a composite JSON with an invalid regular expression names the entry', async () => {
    const file = join(tmp, 'bad.json');
    writeFileSync(file, JSON.stringify({ name: 'bad', entries: [{ match: { name: '/([/' }, rule: 'epsilon' }] }));
    expectClear(await xsys('compile', MLP, '-o', join(tmp, 'o.onnx'), '-c', file), 2, /entries\[0\]\.match\.name: invalid regular expression \/\(\[\//);
  });

  it('conformance with a missing or non-ONNX model fails the cases with the reason (CRP manifests too)', async () => {
    const dir = join(tmp, 'crp');
    cpSync('test/fixtures/crp-conformance', dir, { recursive: true });
    rmSync(join(dir, 'models', 'resnet-mini.onnx'));
    let r = await xsys('conformance', join(dir, 'manifest.json'), '--filter', 'resnet-mini/condition-0');
    expectClear(r, 1, /^$/);
    expect(r.stdout).toMatch(/FAIL {2}resnet-mini\/condition-0 .*resnet-mini\.onnx: cannot read model file \(ENOENT\)/);
    writeFileSync(join(dir, 'models', 'resnet-mini.onnx'), 'not onnx');
    r = await xsys('conformance', join(dir, 'manifest.json'), '--filter', 'resnet-mini/condition-0');
    expectClear(r, 1, /^$/);
    expect(r.stdout).toMatch(/resnet-mini\.onnx: not a valid ONNX model/);
  });
});

describe('defect 9: what the input is, said plainly', () => {
  it('a float64-input model is named as such, not as a model without token embeddings', async () => {
    const x64 = create(ValueInfoProtoSchema, { name: 'x', type: { value: { case: 'tensorType', value: { elemType: 11, shape: { dim: [{ value: { case: 'dimValue', value: 1n } }, { value: { case: 'dimValue', value: 4n } }] } } } } });
    const m = buildModel({
      nodes: [makeNode('Cast', ['x'], ['xf'], 'cast', { to: { int: 1 } }), makeNode('Gemm', ['xf', 'w'], ['y'], 'fc', { transB: { int: 1 } })],
      initializers: [floatTensor('w', new Float32Array(8).fill(0.5), [2, 4])],
      inputs: [x64],
      outputs: [valueInfo('y', [1, 2])],
    });
    const file = join(tmp, 'f64.onnx');
    writeFileSync(file, serializeModel(m));
    const npy = join(tmp, 'x64.npy');
    writeFileSync(npy, encodeNpy(new Float64Array([1, 2, 3, 4]), [1, 4]));
    const r = await xsys('explain', file, npy, '--out', join(tmp, 'o64'));
    expectClear(r, 3, /input 'x' is float64; xsys explains models whose float inputs are float32/);
    expect(r.stderr).not.toContain('token-embedding');
  });

  it('a scalar .npy and an empty batch are refused with what they hold', async () => {
    const scalar = join(tmp, 'scalar.npy');
    writeFileSync(scalar, encodeNpy(new Float32Array([1]), []));
    expectClear(await xsys('explain', MLP, scalar, '--out', join(tmp, 'o1')), 2, /scalar\.npy: holds a single number \(shape \[\]\), not a sample/);
    const empty = join(tmp, 'empty.npy');
    writeFileSync(empty, encodeNpy(new Float32Array(0), [0, 16]));
    expectClear(await xsys('explain', MLP, empty, '--out', join(tmp, 'o2')), 2, /empty\.npy: holds a batch of 0 samples/);
  });
});
