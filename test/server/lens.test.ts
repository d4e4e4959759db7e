/** The Lens API (SemanticLens, PURE, steering) on the real service: reference set → lens-embed job → queries. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledModelId, startBench, type TestBench } from './helpers.js';

let wb: TestBench;
let modelId: string;
beforeAll(async () => {
  wb = await startBench({ mnistTest: 600 });
  modelId = await bundledModelId(wb);
});
afterAll(async () => wb.dispose());

const post = (url: string, payload: unknown) => wb.app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> });
const get = (url: string) => wb.app.inject({ url });
const CONV2 = '/conv2/Conv_output_0';
const FC1 = '/fc1/Gemm_output_0';

async function waitJob(id: string) {
  for (let i = 0; i < 1200; i++) {
    const j = (await get(`/api/jobs/${id}`)).json() as { state: string; progress: { done: number; total: number }; result?: Record<string, unknown>; error?: unknown };
    if (j.state !== 'queued' && j.state !== 'running') return j;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('job did not finish');
}

describe('lens API', () => {
  it('embeds a reference set with the bundled foundation model, then searches, labels, splits, audits and steers', async () => {
    const f = (await get('/api/lens/foundations')).json() as { name: string; hasText: boolean }[];
    expect(f).toEqual([expect.objectContaining({ name: 'aligned-mnist', hasText: true })]);
    const refs = await waitJob(((await post('/api/jobs', { kind: 'concept-references', modelId, dataset: 'mnist-test', layers: [CONV2, FC1], k: 16 })).json() as { id: string }).id);
    expect(refs.state).toBe('done');
    const referenceSet = refs.result!.referenceSet as string;
    const bad = await post('/api/jobs', { kind: 'lens-embed', referenceSet, foundation: 'clip' });
    expect(bad.statusCode).toBe(404);
    const start = await post('/api/jobs', { kind: 'lens-embed', referenceSet, foundation: 'aligned-mnist' });
    expect(start.statusCode).toBeLessThan(300);
    const job = await waitJob((start.json() as { id: string }).id);
    expect(job.state).toBe('done');
    expect(job.progress).toEqual({ done: 96, total: 96 });
    const [idx] = (await get(`/api/lens/indexes?modelId=${modelId}`)).json() as { id: string; components: number; skipped: number; referenceSet: string }[];
    expect(idx!.components + idx!.skipped).toBe(96);
    expect(idx!.referenceSet).toBe(referenceSet);

    const labels = wb.context.datasets.summaryOf('mnist-test').labels!;
    const s = await post(`/api/lens/indexes/${idx!.id}/search`, { text: 'seven', top: 3, vocabulary: ['seven', 'one', 'zero'] });
    expect(s.statusCode).toBe(200);
    const hits = (s.json() as { results: { layer: string; channel: number; label: string | null; strip: string; cosine: number }[] }).results;
    expect(hits).toHaveLength(3);
    expect(hits[0]!.strip).toMatch(/^data:image\/png;base64,iVBOR/);
    expect(hits[0]!.label).toBe('seven');
    const c = await get(`/api/lens/indexes/${idx!.id}/component?layer=${encodeURIComponent(hits[0]!.layer)}&channel=${hits[0]!.channel}`);
    const comp = c.json() as { samples: { index: number }[]; clarity: number };
    expect(comp.samples.filter((x) => labels[x.index] === 7).length).toBeGreaterThanOrEqual(12);
    expect(comp.clarity).toBeGreaterThan(0.5);

    const img = await post(`/api/lens/indexes/${idx!.id}/search`, { image: { dataset: 'mnist-test', index: 0 }, top: 1 });
    expect(img.statusCode).toBe(200);

    const l = (await post(`/api/lens/indexes/${idx!.id}/labels`, { vocabulary: ['seven', 'zero'], threshold: 0.3 })).json() as { label: string | null }[];
    expect(l.length).toBe(idx!.components);

    const p = await post(`/api/lens/indexes/${idx!.id}/pure`, { layer: hits[0]!.layer, channel: hits[0]!.channel, lower: CONV2, k: 2 });
    expect(p.statusCode).toBe(200);
    const split = p.json() as { k: number; clusters: { size: number }[]; strips: string[] };
    expect(split.k).toBe(2);
    expect(split.strips).toHaveLength(split.clusters.length);

    const a = await post(`/api/lens/indexes/${idx!.id}/audit`, { layer: FC1, cls: 7, should: ['seven'], shouldNot: ['a loop'] });
    expect(a.statusCode).toBe(200);
    const audit = a.json() as { total: number; groups: { relevance: number }[] };
    expect(audit.groups.reduce((x, g) => x + g.relevance, 0)).toBeCloseTo(audit.total, 6);

    const i7 = labels.indexOf(7);
    const top10 = ((await post(`/api/lens/indexes/${idx!.id}/search`, { text: 'seven', top: 16, layers: [FC1] })).json() as { results: { channel: number }[] }).results.map((h) => h.channel);
    const st = await post(`/api/lens/indexes/${idx!.id}/steer`, { layer: FC1, channels: top10, factor: 0, dataset: 'mnist-test', index: i7, save: true });
    expect(st.statusCode).toBe(200);
    const steer = st.json() as { before: { prediction: number; heatmap: string }; after: { prediction: number; probabilities: number[] }; modelId: string };
    expect(steer.before.prediction).toBe(7);
    expect(steer.after.prediction).not.toBe(7);
    expect(steer.modelId).toMatch(/^[0-9a-f]{64}$/);
    expect((await get(`/api/models/${steer.modelId}`)).statusCode).toBe(200);
  });

  it('bad requests: unknown index, no query, out-of-range top', async () => {
    expect((await post('/api/lens/indexes/0123456789abcdef01234567/search', { text: 'seven' })).statusCode).toBe(404);
    const [idx] = (await get('/api/lens/indexes')).json() as { id: string }[];
    const none = await post(`/api/lens/indexes/${idx!.id}/search`, {});
    expect(none.statusCode).toBe(400);
    expect(none.json().detail).toMatch(/exactly one query/);
    expect((await post(`/api/lens/indexes/${idx!.id}/search`, { text: 'seven', top: 0 })).statusCode).toBe(400);
  });
});
