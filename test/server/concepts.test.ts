/** The Concepts API (CRP) on the real service: layers, concepts of a sample, a reference-samples job, crops, atlas. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledModelId, startBench, type TestBench } from './helpers.js';

let wb: TestBench;
let modelId: string;
beforeAll(async () => {
  wb = await startBench();
  modelId = await bundledModelId(wb);
});
afterAll(async () => wb.dispose());

const post = (url: string, payload: unknown) => wb.app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> });
const get = (url: string) => wb.app.inject({ url });
const CONV2 = '/conv2/Conv_output_0';

async function waitJob(id: string) {
  for (let i = 0; i < 600; i++) {
    const j = (await get(`/api/jobs/${id}`)).json() as { state: string; progress: { done: number; total: number }; error?: unknown };
    if (j.state !== 'queued' && j.state !== 'running') return j;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('job did not finish');
}

describe('concepts API', () => {
  it('lists the layers with channels', async () => {
    const r = await get(`/api/models/${modelId}/concepts/layers`);
    expect(r.statusCode).toBe(200);
    expect((r.json() as { tensor: string; channels: number }[]).map((l) => l.channels)).toEqual([16, 32, 64, 10]);
  });

  it('explains a sample by concepts: shares sum to 1 in |·|, heatmaps are PNGs, sub-concepts one layer down', async () => {
    const r = await post('/api/concepts/explain', { modelId, dataset: 'mnist-samples', index: 2, layer: CONV2, lower: '/conv1/Conv_output_0', top: 32 });
    expect(r.statusCode).toBe(200);
    const b = r.json() as { target: number; total: number; channels: number; concepts: { channel: number; relevance: number; share: number; heatmap: string; subConcepts: { relevance: number }[] }[] };
    expect(b.target).toBe(2);
    expect(b.channels).toBe(32);
    expect(b.concepts.reduce((s, c) => s + Math.abs(c.share), 0)).toBeCloseTo(1, 5);
    expect(b.concepts.reduce((s, c) => s + c.relevance, 0)).toBeCloseTo(b.total, 3);
    expect(b.concepts[0]!.heatmap).toMatch(/^data:image\/png;base64,iVBOR/);
    expect(b.concepts[0]!.subConcepts.length).toBeGreaterThan(0);
  });

  it('bad input: unknown layer, top out of bounds, unknown model', async () => {
    const r1 = await post('/api/concepts/explain', { modelId, dataset: 'mnist-samples', index: 0, layer: '/nope' });
    expect(r1.statusCode).toBe(400);
    expect(r1.json().detail).toMatch(/no tensor named '\/nope'/);
    expect((await post('/api/concepts/explain', { modelId, dataset: 'mnist-samples', index: 0, layer: CONV2, top: 1000 })).statusCode).toBe(400);
    expect((await post('/api/concepts/explain', { modelId: 'f'.repeat(64), dataset: 'mnist-samples', index: 0, layer: CONV2 })).statusCode).toBe(404);
    expect((await get('/api/concepts/references/zzz/atlas?layer=a&cls=1')).statusCode).toBe(400);
  });

  it('a concept-references job builds a reference set; its samples are cropped and its atlas ranks a class', async () => {
    const bad = await post('/api/jobs', { kind: 'concept-references', modelId, dataset: 'mnist-samples', layers: ['/nope'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toMatch(/'\/nope' is not a layer with channels/);
    const start = await post('/api/jobs', { kind: 'concept-references', modelId, dataset: 'mnist-samples', layers: [CONV2, '/fc1/Gemm_output_0'], k: 3 });
    expect(start.statusCode).toBeLessThan(300);
    const job = await waitJob((start.json() as { id: string }).id);
    expect(job.state).toBe('done');
    expect(job.progress).toEqual({ done: 8, total: 8 });
    const sets = (await get(`/api/concepts/references?modelId=${modelId}`)).json() as { id: string; complete: boolean; processed: number; dataset: string }[];
    expect(sets).toHaveLength(1);
    expect(sets[0]).toMatchObject({ complete: true, processed: 8, dataset: 'mnist-samples' });
    const id = sets[0]!.id;
    const s = await get(`/api/concepts/references/${id}/samples?layer=${encodeURIComponent(CONV2)}&channel=3&n=3`);
    expect(s.statusCode).toBe(200);
    const samples = s.json() as { index: number; value: number; box: number[]; crop: string }[];
    expect(samples).toHaveLength(3);
    expect(samples[0]!.value).toBeGreaterThanOrEqual(samples[1]!.value);
    expect(samples[0]!.crop).toMatch(/^data:image\/png;base64,/);
    const a = await get(`/api/concepts/references/${id}/atlas?layer=${encodeURIComponent(CONV2)}&cls=2&compare=7&top=4`);
    expect(a.statusCode).toBe(200);
    const atlas = a.json() as { samples: number; concepts: { meanRelevance: number }[]; comparison: { shared: number[] } };
    expect(atlas.samples).toBe(1);
    expect(atlas.concepts).toHaveLength(4);
    expect(atlas.concepts[0]!.meanRelevance).toBeGreaterThanOrEqual(atlas.concepts[3]!.meanRelevance);
    expect((await get(`/api/concepts/references/${id}/samples?layer=${encodeURIComponent(CONV2)}&channel=99`)).statusCode).toBe(400);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await get('/openapi.json')).json() as { paths: Record<string, unknown> };
    for (const p of ['/api/concepts/explain', '/api/concepts/references', '/api/concepts/references/{id}/samples', '/api/concepts/references/{id}/atlas', '/api/models/{id}/concepts/layers']) expect(doc.paths[p], p).toBeDefined();
  });
});
