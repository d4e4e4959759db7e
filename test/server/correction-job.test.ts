/** The `correction` job kind over real HTTP on the Clever-Hans model: CAV, ranking, ClArC as a new model, re-evaluation. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/io/npy-file.js';
import { artefactRegion } from '../../src/jobs/correction.js';
import { normalizeMnist, pasteArtefact, readArtefactSpec } from '../../src/strategies/artefact.js';
import { loadMnist } from '../../examples/clever-hans/findings.js';
import { startBench, type TestBench } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'xsys-correction-job-'));
let wb: TestBench;
let base: string;
let modelId: string;

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
  const others = (from: number, count: number) => {
    const out: number[] = [];
    for (let i = from; out.length < count; i++) if (d.test.y[i] !== spec.class) out.push(i);
    return out;
  };
  const reg = async (name: string, idx: number[], where: (k: number) => boolean, labels = false) => {
    const x = normalizeMnist(pasteArtefact(d.test.x, 28, 28, idx, spec, where), idx.length, 28, 28);
    await writeNpy(join(dir, `${name}.npy`), x.data, x.dims);
    if (labels) writeFileSync(join(dir, `${name}.json`), JSON.stringify(idx.map((i) => d.test.y[i])));
    await wb.context.datasets.register({ name, npy: join(dir, `${name}.npy`), ...(labels ? { labels: join(dir, `${name}.json`) } : {}), preprocess });
  };
  await reg('square', others(3000, 60), () => true);
  await reg('plain', others(4000, 60), () => false);
  await reg('mixed', others(0, 30), (k) => k % 3 === 0, true);
  const testIdx = Array.from({ length: 300 }, (_, k) => 6000 + k);
  await reg('test', testIdx, () => false, true);
  await reg('pasted', testIdx, () => true, true);
}, 120_000);

afterAll(async () => {
  await wb.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('correction job', () => {
  it('ranks the pasted samples first, registers the corrected model and closes the accuracy gap', async () => {
    const created = await api('POST', '/api/jobs', { kind: 'correction', modelId, dataset: 'mixed', layer: '/Relu_1_output_0', concept: 'square', clean: 'plain', test: 'test', pasted: 'pasted', artefactClass: 3 });
    expect(created.status).toBe(202);
    const job = await finished(created.json.id);
    expect(job.state).toBe('done');
    const r = job.result;
    expect(r.cav.accuracy).toBe(1);
    expect(r.aboveThreshold).toBe(10);
    expect(r.ranking.slice(0, 10).map((x: { index: number }) => x.index).sort((a: number, b: number) => a - b)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
    expect(r.top).toHaveLength(8);
    expect(r.top[0].heatmap).toHaveLength(784);
    const e = r.evaluation;
    expect(e.regionPixels).toBe(16);
    expect(e.before.gap).toBeGreaterThan(0.3);
    expect(e.gapRatio).toBeLessThan(0.5);
    expect(e.cleanLossPoints).toBeLessThanOrEqual(2);
    expect(e.after.relevanceShare).toBeLessThan(e.before.relevanceShare);
    // The corrected model is a model of the workbench: listed, and explained like any other.
    const models = (await api('GET', '/api/models')).json as { id: string; name: string }[];
    expect(models.find((m) => m.id === r.correctedModelId)?.name).toBe('clever-hans-cnn-clarc-mean-shift.onnx');
  }, 180_000);

  it('refuses a re-evaluation without its pasted twin, and an unknown layer, by field', async () => {
    let res = await api('POST', '/api/jobs', { kind: 'correction', modelId, dataset: 'mixed', layer: '/Relu_1_output_0', concept: 'square', clean: 'plain', test: 'test' });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.json)).toMatch(/pasted/);
    res = await api('POST', '/api/jobs', { kind: 'correction', modelId, dataset: 'mixed', layer: '/nope', concept: 'square', clean: 'plain' });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.json)).toMatch(/nope/);
    res = await api('POST', '/api/jobs', { kind: 'correction', modelId, dataset: 'mixed', layer: '/Relu_1_output_0', concept: 'square', clean: 'plain', count: 1_000_000 });
    expect(res.status).toBe(400);
  });

  it('artefactRegion marks where the pasted twin differs in at least half the samples', () => {
    const clean = { data: Float32Array.of(0, 0, 0, 0, 0, 0, 0, 0), dims: [2, 1, 2, 2] };
    const pasted = { data: Float32Array.of(1, 0, 1, 0, 1, 1, 0, 0), dims: [2, 1, 2, 2] };
    expect(Array.from(artefactRegion(clean, pasted))).toEqual([1, 1, 1, 0]);
  });
});
