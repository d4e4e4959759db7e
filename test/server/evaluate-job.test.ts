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
import { parseNpy, toFloat32 } from '../../src/io/npy.js';
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
    // A localisation metric needs masks, which the dataset does not have: refused before any work.
    await bad({ metrics: ['pointing-game'], metricParams: undefined }, /mask/);
    await bad({ dataset: 'nope' }, /nope/, 404);
  });
});
