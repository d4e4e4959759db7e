/**
 * Issue 10 on the HTTP API: defect 9 (text/plain bodies are 415 as documented, a scalar .npy says what it holds, no
 * temporary upload path in any message) and the problem details of unexpected errors without server paths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeNpy } from '../../src/io/npy.js';
import { withoutPaths } from '../../src/server/problem.js';
import { bundledModelId, startBench, type TestBench } from '../server/helpers.js';

let wb: TestBench;
let modelId: string;

beforeAll(async () => {
  wb = await startBench();
  modelId = await bundledModelId(wb);
});
afterAll(async () => wb.dispose());

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

describe('defect 9 over HTTP', () => {
  it('a text/plain body is 415 on JSON routes and on the model upload', async () => {
    for (const url of ['/api/explain', '/api/jobs', '/api/models']) {
      const res = await wb.app.inject({ method: 'POST', url, headers: { 'content-type': 'text/plain' }, payload: 'hello' });
      expect(res.statusCode, url).toBe(415);
      expect(res.json()).toMatchObject({ type: 'https://xsys.dev/problems/unsupported-media-type' });
    }
  });

  it('a scalar .npy is refused saying it holds a single number (not "a batch of undefined")', async () => {
    const res = await wb.app.inject({ method: 'POST', url: '/api/explain', payload: { modelId, input: { kind: 'npy', npy: b64(encodeNpy(new Float32Array([1]), [])) }, method: 'gradient' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toBe('input.npy: holds a single number (shape []), not a sample');
    expect(res.json().hint).toContain('[1, 1, 28, 28]');
  });

  it('an image upload that is no image names input.png, not the scratch file it was written to', async () => {
    const res = await wb.app.inject({ method: 'POST', url: '/api/explain', payload: { modelId, input: { kind: 'image', png: b64(new TextEncoder().encode('this is not an image at all')) }, method: 'gradient' } });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    const body = res.body;
    expect(body).toContain('input.png');
    expect(body).not.toMatch(/xsys-upload-|\/tmp\//);
  });

  it('unexpected errors name no server paths', () => {
    expect(withoutPaths("ENOENT: no such file or directory, open '/home/srv/.xsys/artefacts/ab/abcdef'")).toBe("ENOENT: no such file or directory, open '<path>'");
    expect(withoutPaths('failed at C:\\data\\xsys\\store.db (locked)')).toBe('failed at <path> (locked)');
    expect(withoutPaths('a / b and 3/4')).toBe('a / b and 3/4');
  });
});
