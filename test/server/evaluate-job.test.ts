/**
 * The `evaluate` job over real HTTP: SSE progress, the stored outcome equals a direct runEvaluation call on the same
 * inputs, it survives a restart, cancellation between steps, and request validation.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runEvaluation } from '../../src/evaluation/evaluate.js';
import { parseMethodList } from '../../src/evaluation/methods.js';
import { OrtModel } from '../../src/evaluation/ort-model.js';
import { thresholdMasks } from '../../src/data/masks.js';
import { encodeNpy, parseNpy, toFloat32 } from '../../src/io/npy.js';
import { bundledModelId, startBench, type TestBench } from './helpers.js';

const MNIST = 'examples/mnist';
const dir = mkdtempSync(join(tmpdir(), 'xsys-evaljob-'));
let wb: TestBench;
let base: string;
let modelId: string;

beforeAll(async () => {
  wb = await startBench({ dir });
  base = await wb.app.listen({ host: '127.0.0.1', port: 0 });
  modelId = await bundledModelId(wb);
});
afterAll(async () => {
  await wb.dispose();
  rmSync(dir, { recursive: true, force: true });
});

interface SseEvent {
  event: string;
  data: { id: string; state: string; progress: { done: number; total: number }; result?: Record<string, unknown> };
}

function readEvents(url: string, onEvent?: (e: SseEvent) => void): Promise<SseEvent[]> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      const events: SseEvent[] = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let at: number;
        while ((at = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) {
            const e = { event, data: JSON.parse(data) } as SseEvent;
            events.push(e);
            onEvent?.(e);
          }
        }
      });
      res.on('end', () => resolve(events));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const INDICES = [0, 3, 5];
const request1 = () => ({
  kind: 'evaluate',
  modelId,
  dataset: 'mnist-samples',
  indices: INDICES,
  methods: [{ method: 'gradient' }, { method: 'lrp', composite: 'epsilon-plus' }],
  metrics: ['sparseness', 'pixel-flipping'],
  metricParams: { 'pixel-flipping': { featuresInStep: 196 } },
  batchSize: 2,
  seed: 3,
});

describe('evaluate job', () => {
  it('streams progress, stores the outcome a direct runEvaluation gives, and keeps it across a restart', async () => {
    const created = await api('POST', '/api/jobs', request1());
    expect(created.status).toBe(202);
    // Progress unit: a stage (explain with one method, or one metric of one method): 2 × (1 + 2).
    expect(created.json).toMatchObject({ kind: 'evaluate', state: 'queued', progress: { done: 0, total: 6 } });
    const events = await readEvents(`${base}/api/jobs/${created.json.id}/events`);
    const last = events[events.length - 1]!;
    expect(last.event).toBe('done');
    const dones = events.filter((e) => e.event === 'progress').map((e) => e.data.progress.done);
    expect(dones).toEqual([...dones].sort((a, b) => a - b));
    expect(new Set(dones)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6]));

    const job = (await api('GET', `/api/jobs/${created.json.id}`)).json;
    expect(job.state).toBe('done');
    const outcome = job.result;

    // The same evaluation as a library call on the same samples, loaded independently of the service.
    const npy = parseNpy(new Uint8Array(readFileSync(join(MNIST, 'samples.npy'))));
    const all = toFloat32(npy);
    const per = all.length / npy.shape[0]!;
    const labels = JSON.parse(readFileSync(join(MNIST, 'labels.json'), 'utf8')) as number[];
    const x = new Float32Array(per * INDICES.length);
    INDICES.forEach((i, k) => x.set(all.subarray(i * per, (i + 1) * per), k * per));
    const direct = await runEvaluation({
      model: await OrtModel.load(join(MNIST, 'mnist-cnn.onnx'), { batchSize: 2 }),
      data: { x, shape: [INDICES.length, ...npy.shape.slice(1)], labels: Int32Array.from(INDICES.map((i) => labels[i]!)), names: INDICES.map(String), source: 'direct' },
      methods: parseMethodList('gradient,lrp:epsilon-plus'),
      metrics: [{ name: 'sparseness' }, { name: 'pixel-flipping', params: { featuresInStep: 196 } }],
      seed: 3,
    });
    expect(outcome.methods).toEqual(['gradient', 'lrp:epsilon-plus']);
    expect(outcome.metrics).toEqual(direct.metrics);
    expect(outcome.targets).toEqual(direct.targets);
    expect(outcome.accuracy).toBe(direct.accuracy);
    expect(outcome.cells).toHaveLength(4);
    for (const [i, c] of direct.cells.entries()) {
      const s = outcome.cells[i];
      expect(s).toMatchObject({ method: c.method, metric: c.metric, n: c.valid, nanReasons: c.nanReasons });
      expect(s.scores).toEqual(c.scores.map((v) => (Number.isFinite(v) ? v : null)));
      expect(s.mean).toBe(c.mean);
      expect(s.std).toBe(c.std);
      expect(s.n).toBe(INDICES.length);
    }
    // pixel-flipping has a curve per sample: its score is an AUC, different per method.
    expect(outcome.cells[1].mean).not.toBe(outcome.cells[3].mean);
    expect(outcome.provenance).toMatchObject({
      modelSha256: modelId,
      dataset: 'mnist-samples',
      indices: INDICES,
      samples: 3,
      shape: [3, 1, 28, 28],
      methods: [{ method: 'gradient' }, { method: 'lrp', composite: 'epsilon-plus' }],
      target: 'pred',
      batchSize: 2,
      seed: 3,
    });
    expect(outcome.provenance.metrics[1]).toMatchObject({ name: 'pixel-flipping', params: { featuresInStep: 196 } });
    expect(typeof outcome.provenance.xsysVersion).toBe('string');
    expect(typeof outcome.provenance.ortVersion).toBe('string');

    // Stored, not held in memory: a new server on the same data directory returns it.
    await wb.close();
    wb = await startBench({ dir });
    base = await wb.app.listen({ host: '127.0.0.1', port: 0 });
    const again = (await api('GET', `/api/jobs/${created.json.id}`)).json;
    expect(again.state).toBe('done');
    expect(again.result).toEqual(outcome);
  });

  it('cancels a running evaluation between steps; no outcome is stored', async () => {
    const created = await api('POST', '/api/jobs', {
      kind: 'evaluate',
      modelId,
      dataset: 'mnist-samples',
      limit: 8,
      methods: [{ method: 'gradient' }, { method: 'occlusion', params: { window: 3, stride: 1 } }],
      metrics: ['sparseness', 'pixel-flipping'],
      metricParams: { 'pixel-flipping': { featuresInStep: 28 } },
      batchSize: 2,
    });
    expect(created.status).toBe(202);
    let cancel: Promise<{ status: number; json: any }> | undefined;
    const events = await readEvents(`${base}/api/jobs/${created.json.id}/events`, (e) => {
      if (!cancel && e.event === 'progress' && e.data.progress.done >= 1) cancel = api('DELETE', `/api/jobs/${created.json.id}`);
    });
    const res = await cancel!;
    expect(res.status).toBe(200);
    expect(res.json.state).toBe('cancelled');
    expect(events[events.length - 1]!.event).toBe('cancelled');
    const job = (await api('GET', `/api/jobs/${created.json.id}`)).json;
    expect(job.state).toBe('cancelled');
    expect(job.progress.done).toBeLessThan(job.progress.total);
    expect(job.result).toBeUndefined();
    // The runner is free again: a small evaluation after the cancelled one finishes.
    const next = await api('POST', '/api/jobs', { ...request1(), indices: [1], metrics: ['sparseness'], metricParams: undefined });
    const evs = await readEvents(`${base}/api/jobs/${next.json.id}/events`);
    expect(evs[evs.length - 1]!.event).toBe('done');
  });

  it('validates evaluate requests at submission and publishes the kind', async () => {
    const kinds = (await api('GET', '/api/jobs/kinds')).json as { kind: string; params: { properties: Record<string, unknown> } }[];
    const evaluate = kinds.find((k) => k.kind === 'evaluate')!;
    expect(Object.keys(evaluate.params.properties)).toEqual(expect.arrayContaining(['modelId', 'dataset', 'indices', 'limit', 'methods', 'metrics', 'metricParams', 'target', 'batchSize', 'seed']));
    const doc = (await api('GET', '/openapi.json')).json;
    const bodies = doc.paths['/api/jobs'].post.requestBody.content['application/json'].schema.oneOf as { properties: { kind: { const: string } } }[];
    expect(bodies.map((b) => b.properties.kind.const)).toContain('evaluate');

    const bad = async (patch: Record<string, unknown>, pattern: RegExp, status = 400) => {
      const r = await api('POST', '/api/jobs', { ...request1(), ...patch });
      expect(r.status).toBe(status);
      expect(`${r.json.detail} ${r.json.hint ?? ''}`).toMatch(pattern);
    };
    await bad({ metrics: ['no-such-metric'] }, /no-such-metric/);
    await bad({ methods: [] }, /method/);
    await bad({ methods: [{ method: 'gradient' }, { method: 'gradient' }] }, /listed twice/);
    await bad({ indices: [0, 99] }, /99/);
    await bad({ methods: [null] }, /not \{method/);
    await bad({ metricParams: { sparseness: { abs: [1] } } }, /sparseness\.abs/);
    await bad({ indices: undefined, limit: 9 }, /limit/);
    await bad({ metricParams: { 'pointing-game': { k: 1 } } }, /not in metrics/);
    // A localisation metric needs masks, which the dataset does not have: refused before any work, in form words.
    await bad({ metrics: ['pointing-game'], metricParams: undefined }, /^masks: 'pointing-game' needs localisation masks give a threshold/);
    await bad({ metrics: ['pointing-game'], metricParams: undefined, masks: { threshold: 2 } }, /threshold/);
    // Every pixel of an MNIST digit is below intensity 1: all masks empty, named by sample.
    await bad({ metrics: ['pointing-game'], metricParams: undefined, masks: { threshold: 1 } }, /mask of sample 0 \(0\) is empty/, 422);
    const b64 = (data: Float32Array, shape: number[]) => Buffer.from(encodeNpy(data, shape)).toString('base64');
    await bad({ metrics: ['pointing-game'], metricParams: undefined, masks: { npy: b64(new Float32Array(2 * 784).fill(1), [2, 28, 28]) } }, /holds 2 masks; dataset 'mnist-samples' has \d+ samples and 3 are evaluated/, 422);
    await bad({ metrics: ['pointing-game'], metricParams: undefined, masks: { npy: b64(new Float32Array(3 * 784).fill(0.5), [3, 28, 28]) } }, /must be binary/, 422);
    await bad({ metrics: ['pointing-game'], metricParams: undefined, masks: { npy: 'bm90IGFuIG5weQ==' } }, /masks\.npy/);
    for (const r of [/--/]) {
      const res = await api('POST', '/api/jobs', { ...request1(), metrics: ['pointing-game'], metricParams: undefined });
      expect(`${res.json.detail} ${res.json.hint}`).not.toMatch(r);
    }
    await bad({ dataset: 'nope' }, /nope/, 404);
  });

  it('scores localisation metrics with masks from a threshold or an uploaded .npy, equal to a direct runEvaluation', async () => {
    const npy = parseNpy(new Uint8Array(readFileSync(join(MNIST, 'samples.npy'))));
    const all = toFloat32(npy);
    const per = all.length / npy.shape[0]!;
    const x = new Float32Array(per * INDICES.length);
    INDICES.forEach((i, k) => x.set(all.subarray(i * per, (i + 1) * per), k * per));
    const shape = [INDICES.length, ...npy.shape.slice(1)];
    // The bundled samples are normalised with MNIST's mean/std; the threshold applies to the [0, 1] intensity.
    const intensity = x.map((v) => v * 0.3081 + 0.1307);
    const masks = thresholdMasks(intensity, shape, 0.5);
    const covered = masks.reduce((a, b) => a + b, 0) / masks.length;
    expect(covered).toBeGreaterThan(0.05);
    expect(covered).toBeLessThan(0.5);
    const labels = JSON.parse(readFileSync(join(MNIST, 'labels.json'), 'utf8')) as number[];
    const direct = await runEvaluation({
      model: await OrtModel.load(join(MNIST, 'mnist-cnn.onnx'), { batchSize: 2 }),
      data: { x, shape, labels: Int32Array.from(INDICES.map((i) => labels[i]!)), masks, names: INDICES.map(String), source: 'direct' },
      methods: parseMethodList('gradient,lrp:epsilon-plus'),
      metrics: [{ name: 'pointing-game' }, { name: 'attribution-localisation' }],
      seed: 3,
    });
    const run = async (m: unknown) => {
      const created = await api('POST', '/api/jobs', { ...request1(), metrics: ['pointing-game', 'attribution-localisation'], metricParams: undefined, masks: m });
      expect(created.status, JSON.stringify(created.json)).toBe(202);
      const events = await readEvents(`${base}/api/jobs/${created.json.id}/events`);
      expect(events[events.length - 1]!.event).toBe('done');
      return (await api('GET', `/api/jobs/${created.json.id}`)).json;
    };
    const byThreshold = await run({ threshold: 0.5 });
    expect(byThreshold.params.masks).toEqual({ threshold: 0.5, normalisation: { mean: [0.1307], std: [0.3081] } });
    // One mask per evaluated sample, as a [3, 1, 28, 28] .npy: the same masks, so the same scores.
    const upload = Buffer.from(encodeNpy(masks, shape)).toString('base64');
    const byFile = await run({ npy: upload });
    expect(byFile.params.masks).toEqual({ artefact: expect.stringMatching(/^[0-9a-f]{64}$/), shape });
    expect(byFile.result.provenance.masks).toEqual(byFile.params.masks);
    // One mask per dataset sample: rows are taken by sample index (the others cover everything and must not be used).
    const whole = new Float32Array(npy.shape[0]! * per).fill(1);
    INDICES.forEach((i, k) => whole.set(masks.subarray(k * per, (k + 1) * per), i * per));
    const byDataset = await run({ npy: Buffer.from(encodeNpy(whole, [npy.shape[0]!, 28, 28])).toString('base64') });
    for (const job of [byThreshold, byFile, byDataset]) {
      expect(job.result.cells).toHaveLength(4);
      for (const [i, c] of direct.cells.entries()) {
        expect(job.result.cells[i]).toMatchObject({ method: c.method, metric: c.metric, n: c.valid, mean: c.mean, std: c.std });
      }
    }
    // Masks covering the whole image: every positive relevance lies inside, so attribution localisation is exactly 1
    // and every map's maximum is inside — different from the stroke masks' scores, which the masks therefore decide.
    const full = await run({ npy: Buffer.from(encodeNpy(new Float32Array(INDICES.length * per).fill(1), [INDICES.length, 1, 28, 28])).toString('base64') });
    for (const c of full.result.cells) expect(c.mean).toBe(1);
    expect(direct.cells.some((c) => c.mean < 1)).toBe(true);
  });
});
