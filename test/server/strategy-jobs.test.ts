/** The `spray`, `pcx` and `tcav` job kinds over real HTTP, on the Clever-Hans model and MNIST images registered as datasets. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/io/npy-file.js';
import { normalizeMnist, pasteArtefact, readArtefactSpec, trainingHasArtefact } from '../../src/strategies/artefact.js';
import { loadMnist } from '../../examples/clever-hans/findings.js';
import { startBench, type TestBench } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'xsys-strategy-jobs-'));
let wb: TestBench;
let base: string;
let modelId: string;
const artefact: number[] = [];

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function finished(id: string): Promise<any> {
  for (;;) {
    const j = (await api('GET', `/api/jobs/${id}`)).json;
    if (j.state === 'done' || j.state === 'failed') return j;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  wb = await startBench({ dir });
  base = await wb.app.listen({ host: '127.0.0.1', port: 0 });
  const spec = readArtefactSpec('examples/clever-hans/artefact.json');
  const d = await loadMnist();
  const preprocess = { size: [28, 28] as [number, number], grayscale: true, mean: [0.1307], std: [0.3081] };
  modelId = (await wb.context.models.register(new Uint8Array(readFileSync('examples/clever-hans/clever-hans-cnn.onnx')), 'clever-hans-cnn.onnx', preprocess)).record.id;
  // 45 test images: 30 threes (every third with the square) and 15 others.
  const idx: number[] = [];
  for (let i = 0; idx.length < 30; i++) if (d.test.y[i] === 3) idx.push(i);
  for (let i = 0; idx.length < 45; i++) if (d.test.y[i] !== 3) idx.push(i);
  idx.forEach((_, k) => artefact.push(k < 30 && k % 3 === 0 ? 1 : 0));
  const imgs = normalizeMnist(pasteArtefact(d.test.x, 28, 28, idx, spec, (k) => artefact[k] === 1), idx.length, 28, 28);
  await writeNpy(join(dir, 'mixed.npy'), imgs.data, imgs.dims);
  writeFileSync(join(dir, 'mixed.json'), JSON.stringify(idx.map((i) => d.test.y[i])));
  await wb.context.datasets.register({ name: 'mixed', npy: join(dir, 'mixed.npy'), labels: join(dir, 'mixed.json'), preprocess });
  const train = Array.from({ length: 300 }, (_, i) => i);
  const has = trainingHasArtefact(d.train.y, spec);
  const t = normalizeMnist(pasteArtefact(d.train.x, 28, 28, train, spec, (k) => has[k] === 1), train.length, 28, 28);
  await writeNpy(join(dir, 'train.npy'), t.data, t.dims);
  writeFileSync(join(dir, 'train.json'), JSON.stringify(train.map((i) => d.train.y[i])));
  await wb.context.datasets.register({ name: 'train', npy: join(dir, 'train.npy'), labels: join(dir, 'train.json'), preprocess });
  // TCAV: the square pasted into 60 test images of other digits (the concept), 300 clean test images (random sets and,
  // by their labels, the class samples).
  const other = Array.from({ length: 200 }, (_, k) => 3000 + k).filter((i) => d.test.y[i] !== spec.class).slice(0, 60);
  const sq = normalizeMnist(pasteArtefact(d.test.x, 28, 28, other, spec, () => true), other.length, 28, 28);
  await writeNpy(join(dir, 'square.npy'), sq.data, sq.dims);
  await wb.context.datasets.register({ name: 'square', npy: join(dir, 'square.npy'), preprocess });
  const cleanIdx = Array.from({ length: 300 }, (_, k) => 4000 + k);
  const cl = normalizeMnist(pasteArtefact(d.test.x, 28, 28, cleanIdx, spec, () => false), cleanIdx.length, 28, 28);
  await writeNpy(join(dir, 'clean.npy'), cl.data, cl.dims);
  writeFileSync(join(dir, 'clean.json'), JSON.stringify(cleanIdx.map((i) => d.test.y[i])));
  await wb.context.datasets.register({ name: 'clean', npy: join(dir, 'clean.npy'), labels: join(dir, 'clean.json'), preprocess });
});
afterAll(async () => {
  await wb.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('strategy jobs', () => {
  it('publishes both kinds with bounded parameters', async () => {
    const kinds = (await api('GET', '/api/jobs/kinds')).json as { kind: string; params: { properties: Record<string, { maximum?: number }> } }[];
    const spray = kinds.find((k) => k.kind === 'spray')!;
    expect(spray.params.properties.neighbors!.maximum).toBe(100);
    expect(kinds.find((k) => k.kind === 'pcx')!.params.properties.maxPrototypes!.maximum).toBe(32);
  });

  it('spray: the artefact threes form their own cluster; members are dataset indices', async () => {
    const created = await api('POST', '/api/jobs', { kind: 'spray', modelId, dataset: 'mixed', class: 3 });
    expect(created.status).toBe(202);
    expect(created.json.progress.total).toBe(31);
    const job = await finished(created.json.id);
    expect(job.state).toBe('done');
    const r = job.result as { suggestedClusters: number; clusters: { members: number[]; meanHeatmap: number[] }[]; points: { index: number; x: number }[] };
    expect(r.suggestedClusters).toBe(2);
    const art = r.clusters.find((c) => c.members.includes(0))!;
    expect([...art.members].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, k) => 3 * k));
    expect(r.points).toHaveLength(30);
    expect(r.clusters[0]!.meanHeatmap).toHaveLength(784);
  });

  it('pcx: prototypes per class and the outliers with their deviation', async () => {
    const created = await api('POST', '/api/jobs', { kind: 'pcx', modelId, dataset: 'train', layer: '/Relu_1_output_0', maxPrototypes: 2, covariance: 'diag' });
    expect(created.status).toBe(202);
    const job = await finished(created.json.id);
    expect(job.state).toBe('done');
    const r = job.result as { concepts: number; classes: { class: number; prototypes: { weight: number; mean: number[] }[]; outliers: { index: number; overUsed: unknown[] }[] }[] };
    expect(r.concepts).toBe(16);
    expect(r.classes.map((c) => c.class)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const c of r.classes) expect(c.prototypes.reduce((a, p) => a + p.weight, 0)).toBeCloseTo(1, 6);
    expect(r.classes.some((c) => c.outliers.length > 0)).toBe(true);
  });

  it('tcav: the square CAV is significant for class 3 and scores lower for class 1; CAV directions stored with provenance', async () => {
    const run = async (cls: number) => {
      const created = await api('POST', '/api/jobs', { kind: 'tcav', modelId, dataset: 'clean', class: cls, layer: '/Relu_1_output_0', concept: 'square', runs: 6 });
      expect(created.status).toBe(202);
      const job = await finished(created.json.id);
      expect(job.state).toBe('done');
      return job.result as { tcav: { mean: number }; random: { mean: number }; alphaTcav: { mean: number }; p: number; significant: boolean; classSamples: number; runs: { direction: number[]; provenance: { concept: string; layer: string; run: number } }[]; randomRuns: unknown[] };
    };
    const three = await run(3);
    expect(three.classSamples).toBeGreaterThan(20);
    expect(three.significant).toBe(true);
    expect(three.tcav.mean).toBeGreaterThan(three.random.mean + 0.2);
    expect(three.runs).toHaveLength(6);
    expect(three.randomRuns).toHaveLength(6);
    expect(three.runs[0]!.provenance).toMatchObject({ concept: 'square', layer: '/Relu_1_output_0', run: 0 });
    const dir0 = three.runs[0]!.direction;
    expect(Math.hypot(...dir0)).toBeCloseTo(1, 3);
    // The square does not speak for a 1: its α-TCAV score stays below class 3's.
    const one = await run(1);
    expect(one.alphaTcav.mean).toBeLessThan(three.alphaTcav.mean);
    const bad = await api('POST', '/api/jobs', { kind: 'tcav', modelId, dataset: 'clean', class: 3, layer: '/Relu_1_output_0', concept: 'nope' });
    expect(bad.status).toBe(404);
    expect(JSON.stringify(bad.json)).toContain("no dataset named 'nope'");
    expect((await api('POST', '/api/jobs', { kind: 'tcav', modelId, dataset: 'clean', class: 3, layer: '/Relu_1_output_0', concept: 'square', runs: 1 })).status).toBe(400);
  });

  it('refuses bad parameters before queueing', async () => {
    expect((await api('POST', '/api/jobs', { kind: 'spray', modelId, dataset: 'mixed', class: 3, neighbors: 1000 })).status).toBe(400);
    const r = await api('POST', '/api/jobs', { kind: 'spray', modelId, dataset: 'mixed', class: 42 });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json)).toContain('class');
    expect((await api('POST', '/api/jobs', { kind: 'pcx', modelId, dataset: 'train', layer: 'x', bogus: 1 })).status).toBe(400);
    expect((await api('POST', '/api/jobs', { kind: 'pcx', modelId, dataset: 'train', layer: 'nope' })).status).toBe(400);
  });
});
