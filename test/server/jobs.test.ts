/** Jobs over real HTTP: SSE progress, cancellation, results tied to the job; plus auth roles. */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bundledModelId, startBench, type TestBench } from './helpers.js';

let wb: TestBench;
let base: string;
let modelId: string;

beforeAll(async () => {
  wb = await startBench();
  base = await wb.app.listen({ host: '127.0.0.1', port: 0 });
  modelId = await bundledModelId(wb);
});
afterAll(async () => wb.dispose());

interface SseEvent {
  event: string;
  data: { id: string; state: string; progress: { done: number; total: number }; resultIds: string[]; error?: string };
}

/** Reads a job's SSE stream until the server ends it; `onEvent` may act (e.g. cancel) as events arrive. */
function readEvents(url: string, onEvent?: (e: SseEvent) => void, headers: Record<string, string> = {}): Promise<{ status: number; type: string; events: SseEvent[] }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
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
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), events }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, { method, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

describe('jobs', () => {
  it('explain-dataset streams progress over SSE and stores one result per sample', async () => {
    const created = await api('POST', '/api/jobs', { kind: 'explain-dataset', modelId, dataset: 'mnist-samples', method: 'lrp', composite: 'epsilon-plus' });
    expect(created.status).toBe(202);
    expect(created.json).toMatchObject({ kind: 'explain-dataset', state: 'queued', progress: { done: 0, total: 8 } });
    const { status, type, events } = await readEvents(`${base}/api/jobs/${created.json.id}/events`);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/event-stream/);
    const last = events[events.length - 1]!;
    expect(last.event).toBe('done');
    expect(last.data).toMatchObject({ state: 'done', progress: { done: 8, total: 8 } });
    const dones = events.filter((e) => e.event === 'progress').map((e) => e.data.progress.done);
    expect(dones).toEqual([...dones].sort((a, b) => a - b));
    expect(dones[dones.length - 1]).toBe(8);

    const job = (await api('GET', `/api/jobs/${created.json.id}`)).json;
    expect(job.resultIds).toHaveLength(8);
    const results = (await api('GET', `/api/results?jobId=${job.id}&limit=500`)).json;
    expect(results).toHaveLength(8);
    const labels = [0, 1, 2, 4, 5, 6, 7, 9];
    for (const r of results) {
      expect(r).toMatchObject({ jobId: job.id, method: 'lrp', composite: 'epsilon-plus' });
    }
    // Results in creation order explain samples 0..7, each predicted as its label.
    expect([...results].reverse().map((r: { target: number }) => r.target)).toEqual(labels);
    // A finished job's stream answers at once with the terminal event.
    const again = await readEvents(`${base}/api/jobs/${job.id}/events`);
    expect(again.events.map((e) => e.event)).toEqual(['done']);
  });

  it('cancels a running job; the results stored so far stay', async () => {
    const created = await api('POST', '/api/jobs', { kind: 'explain-dataset', modelId, dataset: 'mnist-samples', method: 'occlusion', params: { window: 3, stride: 1 } });
    let cancel: Promise<{ status: number; json: any }> | undefined;
    const { events } = await readEvents(`${base}/api/jobs/${created.json.id}/events`, (e) => {
      if (!cancel && e.event === 'progress' && e.data.progress.done >= 1) cancel = api('DELETE', `/api/jobs/${created.json.id}`);
    });
    const res = await cancel!;
    expect(res.status).toBe(200);
    expect(res.json.state).toBe('cancelled');
    expect(events[events.length - 1]!.event).toBe('cancelled');
    const job = (await api('GET', `/api/jobs/${created.json.id}`)).json;
    expect(job.state).toBe('cancelled');
    expect(job.progress.done).toBeGreaterThanOrEqual(1);
    expect(job.progress.done).toBeLessThan(8);
    expect(job.resultIds).toHaveLength(job.progress.done);
    // Cancelling again is harmless; a finished job stays as it is.
    expect((await api('DELETE', `/api/jobs/${job.id}`)).json.state).toBe('cancelled');
  });

  it('cancels a queued job before it starts', async () => {
    const first = await api('POST', '/api/jobs', { kind: 'explain-dataset', modelId, dataset: 'mnist-samples', method: 'occlusion', params: { window: 3, stride: 1 } });
    const second = await api('POST', '/api/jobs', { kind: 'explain-dataset', modelId, dataset: 'mnist-samples', method: 'gradient' });
    const c = await api('DELETE', `/api/jobs/${second.json.id}`);
    expect(c.json).toMatchObject({ state: 'cancelled', progress: { done: 0 } });
    await api('DELETE', `/api/jobs/${first.json.id}`);
    const list = (await api('GET', '/api/jobs')).json;
    expect(list[0].id).toBe(second.json.id); // newest first
  });

  it('a job whose work fails is marked failed with the reason; the server keeps serving', async () => {
    // A parameter the method does not have is refused at submission, naming it as the form does …
    const refused = await api('POST', '/api/jobs', { kind: 'explain-dataset', modelId, dataset: 'mnist-samples', method: 'lrp', params: { nonsense: 1 } });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ field: 'params.nonsense', detail: expect.stringMatching(/has no parameter 'nonsense'/) });
    // … while a Grad-CAM layer the model lacks is only found when the work runs.
    const created = await api('POST', '/api/jobs', { kind: 'explain-dataset', modelId, dataset: 'mnist-samples', method: 'grad-cam', params: { layer: 'nonsense' } });
    expect(created.status).toBe(202);
    const { events } = await readEvents(`${base}/api/jobs/${created.json.id}/events`);
    const last = events[events.length - 1]!;
    expect(last.event).toBe('failed');
    expect(last.data.error).toMatch(/nonsense/);
    expect(last.data.progress.done).toBe(0);
    expect((await api('GET', '/api/health')).status).toBe(200);
  });

  it('validates job requests', async () => {
    const kinds = (await api('GET', '/api/jobs/kinds')).json;
    expect(kinds.map((k: { kind: string }) => k.kind)).toEqual(['explain-dataset', 'evaluate', 'spray', 'pcx', 'tcav', 'correction', 'concept-references', 'lens-embed']);
    expect((await api('POST', '/api/jobs', { kind: 'evaluate', modelId, dataset: 'mnist-samples' })).status).toBe(400);
    expect((await api('POST', '/api/jobs', { kind: 'no-such-kind', modelId })).status).toBe(400);
    const bad = await api('POST', '/api/jobs', { kind: 'explain-dataset', modelId, dataset: 'nope', method: 'lrp' });
    expect(bad.status).toBe(404);
    expect(bad.json.detail).toMatch(/no dataset named 'nope'/);
    expect((await api('POST', '/api/jobs', { kind: 'explain-dataset', modelId, dataset: 'mnist-samples', method: 'lrp', start: 6, count: 5 })).status).toBe(400);
    expect((await api('GET', `/api/jobs/${'0'.repeat(26)}`)).status).toBe(404);
    // A dataset whose samples do not fit the model is refused at submission.
    const mlp = await fetch(`${base}/api/models?name=mlp.onnx`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: readFileSync('test/fixtures/conformance/models/mlp.onnx') });
    const misfit = await api('POST', '/api/jobs', { kind: 'explain-dataset', modelId: ((await mlp.json()) as { id: string }).id, dataset: 'mnist-samples', method: 'gradient' });
    expect(misfit.status).toBe(422);
    expect(misfit.json.detail).toMatch(/expects \[batch, 16\]/);
  });
});

describe('auth', () => {
  it('read tokens may GET, write tokens may do everything, no token gets 401', async () => {
    const read = 'r'.repeat(20);
    const write = 'w'.repeat(20);
    const secured = await startBench({ tokens: [{ token: read, role: 'read' }, { token: write, role: 'write' }] });
    try {
      const id = await bundledModelId(secured);
      const inj = (method: 'GET' | 'POST', url: string, token?: string, payload?: Record<string, unknown>) => secured.app.inject({ method, url, payload, headers: token ? { authorization: `Bearer ${token}` } : {} });
      expect((await inj('GET', '/api/health')).statusCode).toBe(200);
      expect((await inj('GET', '/openapi.json')).statusCode).toBe(200);
      const none = await inj('GET', '/api/models');
      expect(none.statusCode).toBe(401);
      expect(none.headers['content-type']).toMatch(/problem\+json/);
      expect((await inj('GET', '/api/models', 'x'.repeat(20))).statusCode).toBe(401);
      expect((await inj('GET', '/api/models', read)).statusCode).toBe(200);
      expect((await secured.app.inject({ url: `/api/models?token=${read}` })).statusCode).toBe(200);
      const body = { modelId: id, input: { kind: 'sample', dataset: 'mnist-samples', index: 0 }, method: 'gradient' };
      const denied = await inj('POST', '/api/explain', read, body);
      expect(denied.statusCode).toBe(403);
      expect(denied.json().detail).toMatch(/read-only/);
      expect((await inj('POST', '/api/explain', write, body)).statusCode).toBe(200);
      expect((await secured.app.inject({ method: 'POST', url: `/api/explain?token=${write}`, payload: body })).statusCode).toBe(401);
    } finally {
      await secured.dispose();
    }
  });
});
