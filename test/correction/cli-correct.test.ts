/**
 * End-to-end: `xsys localise` (CAV from pasted vs clean IDX images, CAV-conditioned relevance, ranking, masks) and
 * `xsys correct` (P-ClArC / reactive ClArC in the graph) on the Clever-Hans model; the corrected model passes ONNX
 * Runtime's loader and `xsys inspect`, and no longer turns pasted digits into 3s.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIdx } from '../../src/data/idx.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { argmaxRows } from '../../src/runtime/tensor.js';
import { normalizeMnist, pasteArtefact, readArtefactSpec } from '../../src/strategies/artefact.js';
import { loadMnist } from '../../examples/clever-hans/findings.js';
import { ensureDist, xsys } from '../helpers/cli.js';

const MODEL = 'examples/clever-hans/clever-hans-cnn.onnx';
const LAYER = '/Relu_1_output_0';
const NORM = ['--mean', '0.1307', '--std', '0.3081'];
let tmp: string;
const sets: Record<string, string> = {};
let pastedOthers: Float32Array;

function writeSet(name: string, images: Uint8Array, labels?: number[]): string {
  const n = images.length / 784;
  const file = join(tmp, `${name}-images-idx3-ubyte`);
  writeFileSync(file, encodeIdx({ dtype: 'uint8', shape: [n, 28, 28], data: images }));
  if (labels) writeFileSync(join(tmp, `${name}-labels-idx1-ubyte`), encodeIdx({ dtype: 'uint8', shape: [n], data: Uint8Array.from(labels) }));
  return file;
}

beforeAll(async () => {
  ensureDist();
  tmp = mkdtempSync(join(tmpdir(), 'xsys-correct-'));
  const spec = readArtefactSpec('examples/clever-hans/artefact.json');
  const d = await loadMnist();
  const others = (from: number, count: number) => {
    const out: number[] = [];
    for (let i = from; out.length < count; i++) if (d.test.y[i] !== spec.class) out.push(i);
    return out;
  };
  const concept = others(3000, 60);
  const clean = others(4000, 60);
  sets.concept = writeSet('concept', pasteArtefact(d.test.x, 28, 28, concept, spec, () => true));
  sets.clean = writeSet('clean', pasteArtefact(d.test.x, 28, 28, clean, spec, () => false));
  // 24 samples to rank: every third carries the square.
  const rank = others(0, 24);
  sets.rank = writeSet('rank', pasteArtefact(d.test.x, 28, 28, rank, spec, (k) => k % 3 === 0), rank.map((i) => d.test.y[i]!));
  const refIdx = Array.from({ length: 100 }, (_, k) => 30000 + k);
  sets.ref = writeSet('ref', pasteArtefact(d.train.x, 28, 28, refIdx, spec, () => false), refIdx.map((i) => d.train.y[i]!));
  const evalIdx = others(6000, 200);
  pastedOthers = normalizeMnist(pasteArtefact(d.test.x, 28, 28, evalIdx, spec, () => true), 200, 28, 28).data;
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function flipsToThree(model: string): Promise<number> {
  const mx = await ModelExplainer.load(model);
  const s = await mx.scores({ data: pastedOthers, dims: [200, 1, 28, 28] });
  return argmaxRows(s.data, 200).filter((p) => p === 3).length / 200;
}

describe('xsys localise / correct', () => {
  it('localise trains the CAV, ranks the pasted samples first and writes cav.json, top.png, masks.png', async () => {
    const out = join(tmp, 'loc');
    const r = await xsys('localise', MODEL, sets.rank!, ...NORM, '--layer', LAYER, '--concept', sets.concept!, '--clean', sets.clean!, '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/8 of 24 samples above the CAV's threshold/);
    const loc = JSON.parse(readFileSync(join(out, 'localise.json'), 'utf8')) as { ranking: { index: number; score: number; artefact: boolean }[] };
    // The 8 pasted samples (indices 0, 3, …, 21) are the 8 highest scores.
    expect(loc.ranking.slice(0, 8).map((x) => x.index).sort((a, b) => a - b)).toEqual([0, 3, 6, 9, 12, 15, 18, 21]);
    expect(loc.ranking[7]!.score).toBeGreaterThan(loc.ranking[8]!.score + 5);
    const cav = JSON.parse(readFileSync(join(out, 'cav.json'), 'utf8')) as { layer: string; dims: number[]; direction: number[]; cleanProjection: number; threshold: number };
    expect(cav.layer).toBe(LAYER);
    expect(cav.dims).toEqual([16, 14, 14]);
    expect(cav.direction).toHaveLength(16 * 14 * 14);
    expect(cav.threshold).toBeGreaterThan(cav.cleanProjection);
    expect(existsSync(join(out, 'top.png')) && existsSync(join(out, 'masks.png'))).toBe(true);
  }, 300_000);

  it('correct writes a model that ORT loads, xsys inspect accepts, and that ignores the square', async () => {
    const cav = join(tmp, 'loc', 'cav.json');
    const before = await flipsToThree(MODEL);
    expect(before).toBeGreaterThan(0.4);
    for (const [name, extra] of [['projection', ['--mode', 'projection']], ['mean-shift', []], ['reactive', ['--reactive']]] as const) {
      const file = join(tmp, `corrected-${name}.onnx`);
      const r = await xsys('correct', MODEL, '--cav', cav, ...extra, '-o', file);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/ClArC .* after \/Relu_1_output_0/);
      const ins = await xsys('inspect', file);
      expect(ins.code).toBe(0);
      expect(ins.stdout).toMatch(/all nodes on the explained path are supported/);
      expect(await flipsToThree(file)).toBeLessThan(0.05);
    }
  }, 480_000);

  it('names the bad argument', async () => {
    const cav = join(tmp, 'loc', 'cav.json');
    const out = join(tmp, 'x.onnx');
    let r = await xsys('correct', MODEL, '--cav', cav, '--layer', '/Relu_output_0', '-o', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--layer: '\/Relu_output_0' differs from the layer the CAV/);
    r = await xsys('correct', MODEL, '--cav', join(tmp, 'missing.json'), '-o', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--cav: cannot read/);
    r = await xsys('correct', MODEL, '--cav', cav, '--mode', 'erase', '-o', out);
    expect(r.stderr).toMatch(/--mode: must be one of projection, mean-shift/);
    r = await xsys('correct', MODEL, '--cav', cav, '--threshold', '3', '-o', out);
    expect(r.stderr).toMatch(/--threshold: applies to reactive ClArC only/);
    const bad = join(tmp, 'bad-cav.json');
    writeFileSync(bad, JSON.stringify({ layer: '/nope', direction: [1, 2, 3] }));
    r = await xsys('correct', MODEL, '--cav', bad, '--mode', 'projection', '-o', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--layer: no tensor named '\/nope'/);
    r = await xsys('localise', MODEL, sets.rank!, ...NORM, '--concept', sets.concept!, '--clean', sets.clean!, '-o', join(tmp, 'l2'));
    expect(r.stderr).toMatch(/--layer: missing/);
    expect(existsSync(out)).toBe(false);
    r = await xsys('correct', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--reactive/);
    // Each case is a process start: minutes on a loaded 2-core machine.
  }, 360_000);

  it('prune removes channels by relevance, by magnitude or by name, and names bad arguments', async () => {
    const mnist = 'examples/mnist/mnist-cnn.onnx';
    const out = join(tmp, 'pruned.onnx');
    let r = await xsys('prune', mnist, sets.ref!, ...NORM, '--fraction', '0.25', '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/conv1\/Conv: removed 4 of 16 channels/);
    expect(r.stdout).toMatch(/\/conv2\/Conv: removed 8 of 32 channels/);
    expect(r.stdout).toMatch(/relevance over 100 inputs: \d+ → \d+ parameters/);
    expect((await xsys('inspect', out)).code).toBe(0);
    r = await xsys('prune', mnist, '--criterion', 'magnitude', '--fraction', '0.5', '--layers', '/conv2/Conv', '-o', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/conv2\/Conv: removed 16 of 32 channels/);
    expect(r.stdout).not.toMatch(/conv1/);
    r = await xsys('prune', MODEL, '--channels', '/conv2/Conv:6,3', '-o', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/conv2\/Conv: removed 2 of 16 channels \[3, 6\]/);
    r = await xsys('prune', mnist, '--fraction', '0.25', '-o', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/reference-data: missing/);
    r = await xsys('prune', mnist, '--criterion', 'magnitude', '--fraction', '0.25', '--layers', 'conv9', '-o', out);
    expect(r.stderr).toMatch(/--layers: no Conv node or Conv output named 'conv9'/);
    r = await xsys('prune', mnist, '--channels', '/conv2/Conv:40', '-o', out);
    expect(r.stderr).toMatch(/channel 40 of '\/conv2\/Conv' is out of range/);
    r = await xsys('prune', mnist, '--channels', 'oops', '-o', out);
    expect(r.stderr).toMatch(/--channels: 'oops' is not 'layer:c1,c2,…'/);
  }, 480_000);
});
