/**
 * HTTP security test (issue 10, defect 1 and the standing check): every route of the published API without a token,
 * with a read token and with a write token, and the path variants a router decodes or normalises — percent-encoded
 * letters, absolute-form request targets, double slashes, case — sent as raw request lines over TCP (fetch and
 * http.request would normalise them before they leave the client).
 */
import { connect } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bundledModelId, startBench, type TestBench } from '../server/helpers.js';

const WRITE = 'w'.repeat(24);
const READ = 'r'.repeat(24);

let wb: TestBench;
let port: number;
let modelId: string;
let routes: { method: string; path: string }[];

interface RawResponse {
  status: number;
  body: string;
}

/** Sends one request with the request target exactly as given. */
function raw(method: string, target: string, headers: Record<string, string> = {}, body = ''): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const head = [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    if (body || method === 'POST') head.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
    // write, not end: a half-closed socket makes Node drop the response of a slow request.
    socket.on('connect', () => socket.write(`${head.join('\r\n')}\r\n\r\n${body}`));
    socket.on('data', (c) => chunks.push(c));
    socket.setTimeout(10_000, () => socket.destroy(new Error(`timeout: ${method} ${target}`)));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      // Node's parser drops a request line it cannot parse without answering: status 0 (refused).
      if (!m) return text === '' ? resolve({ status: 0, body: '' }) : reject(new Error(`not HTTP: ${JSON.stringify(text.slice(0, 200))}`));
      resolve({ status: Number(m[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
const fill = (path: string) => path.replace(/\{[^}]+\}/g, () => modelId);

beforeAll(async () => {
  wb = await startBench({ tokens: [{ token: WRITE, role: 'write' }, { token: READ, role: 'read' }] });
  await wb.app.listen({ port: 0, host: '127.0.0.1' });
  port = (wb.app.server.address() as { port: number }).port;
  modelId = await bundledModelId(wb);
  const doc = (await wb.app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path })));
});
afterAll(async () => wb.dispose());

describe('every route, by token', () => {
  it('the API has the routes this test walks', () => {
    expect(routes.length).toBeGreaterThanOrEqual(15);
    expect(routes).toContainEqual({ method: 'DELETE', path: '/api/models/{id}' });
  });

  it('without a token every route but health answers 401', async () => {
    for (const r of routes) {
      const res = await raw(r.method, fill(r.path), {}, r.method === 'POST' ? '{}' : '');
      if (r.path === '/api/health') expect(res.status, `${r.method} ${r.path}`).toBe(200);
      else expect(res.status, `${r.method} ${r.path}`).toBe(401);
    }
  });

  it('a read token may GET; every other method is 403', async () => {
    for (const r of routes) {
      // The SSE stream of a job that does not exist answers 404 at once instead of streaming.
      const path = r.path.includes('{') ? r.path.replace(/\{[^}]+\}/g, '0'.repeat(64)) : r.path;
      const res = await raw(r.method, path, bearer(READ), r.method === 'POST' ? '{}' : '');
      if (r.method === 'GET') expect([401, 403], `${r.method} ${path}: ${res.body}`).not.toContain(res.status);
      else expect(res.status, `${r.method} ${path}`).toBe(403);
    }
  });

  it('a write token passes the check on every route; an unknown token is 401', async () => {
    for (const r of routes) {
      const path = r.path.includes('{') ? r.path.replace(/\{[^}]+\}/g, '0'.repeat(64)) : r.path;
      const res = await raw(r.method, path, bearer(WRITE), r.method === 'POST' ? '{}' : '');
      expect([401, 403], `${r.method} ${path}`).not.toContain(res.status);
    }
    expect((await raw('GET', '/api/models', bearer('x'.repeat(24)))).status).toBe(401);
    expect((await raw('GET', `/api/models?token=${READ}`)).status).toBe(200);
    expect((await raw('POST', `/api/models/x?token=${WRITE}`, {}, '{}')).status).toBe(401);
  });
});

describe('path variants are authorised on the route they reach (defect 1)', () => {
  const variants = (p: string): string[] => [
    p.replace('/api/', '/%61pi/'),
    p.replace('/api/', '/%61%70%69/'),
    p.replace('/api/models', '/api/%6dodels'),
    p.replace('/api/', '/%2561pi/'),
    `http://127.0.0.1:PORT${p}`,
    `http://evil.example${p}`,
    `//${p.slice(1)}`,
    p.replace('/api/', '/api//'),
    p.replace('/api/', '/API/'),
    p.replace('/api/', '/Api/'),
    p.replace('/api/', '/./api/'),
    p.replace('/api/', '/api/health/../'),
    p.replace('/api/', '/api/health%2F..%2F'),
    p.replace('/api/', '/api;/'),
    `${p}/`,
    `${p}?token=`,
    `${p}#`,
  ];

  it('GET/POST/DELETE through encoded, absolute-form, double-slash and case variants never succeed without a token', async () => {
    const targets: [string, string][] = [
      ['GET', '/api/models'],
      ['GET', `/api/models/${modelId}`],
      ['GET', `/api/models/${modelId}/file`],
      ['POST', '/api/explain'],
      ['POST', '/api/jobs'],
      ['DELETE', `/api/models/${modelId}`],
    ];
    for (const [method, path] of targets) {
      for (const v of variants(path)) {
        const target = v.replace('PORT', String(port));
        const res = await raw(method, target, {}, method === 'POST' ? JSON.stringify({ modelId, input: { kind: 'sample', dataset: 'mnist-samples', index: 0 }, method: 'lrp' }) : '');
        expect(res.status < 200 || res.status >= 300, `${method} ${target} answered ${res.status}: ${res.body.slice(0, 120)}`).toBe(true);
        expect([0, 400, 401, 404], `${method} ${target}`).toContain(res.status);
      }
    }
    // The model was not deleted by any of them.
    expect((await raw('GET', `/api/models/${modelId}`, bearer(READ))).status).toBe(200);
  });

  it('a read token cannot write through a variant either', async () => {
    for (const v of variants(`/api/models/${modelId}`)) {
      const res = await raw('DELETE', v.replace('PORT', String(port)), bearer(READ));
      expect([0, 400, 403, 404], `DELETE ${v}`).toContain(res.status);
    }
    expect((await raw('GET', `/api/models/${modelId}`, bearer(READ))).status).toBe(200);
  });

  it('the web UI and the OpenAPI document stay public; unknown paths need a token too', async () => {
    expect((await raw('GET', '/openapi.json')).status).toBe(200);
    expect((await raw('GET', '/')).status).toBe(200);
    expect((await raw('GET', '/%61pi/health')).status).toBe(200);
    expect((await raw('GET', '/api/nothing-here')).status).toBe(401);
    expect((await raw('GET', '/api/nothing-here', bearer(READ))).status).toBe(404);
  });
});
