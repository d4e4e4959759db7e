/**
 * Method-parameter and input limits end to end (issue 10, defects 5 and 9): the server answers 422 beyond a maximum
 * (with its own overrides), 400 for invalid values; the CLI exits 2 for both and for a bad --threads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureDist, xsys } from '../helpers/cli.js';
import { bundledModelId, startBench, type TestBench } from '../server/helpers.js';

let wb: TestBench;
let modelId: string;

beforeAll(async () => {
  wb = await startBench({ limits: { 'smoothgrad.samples': 3 } });
  modelId = await bundledModelId(wb);
  ensureDist();
});
afterAll(async () => wb.dispose());

const explain = (method: string, params: Record<string, number | string>) =>
  wb.app.inject({ method: 'POST', url: '/api/explain', payload: { modelId, input: { kind: 'sample', dataset: 'mnist-samples', index: 0 }, method, params } });

describe('server', () => {
  it('answers 422 beyond a maximum, naming the limit and its key for the operator', async () => {
    const res = await explain('integrated-gradients', { steps: 1e9 });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ type: 'https://xsys.dev/problems/limit-exceeded', detail: 'integrated-gradients steps: 1000000000 exceeds the limit of 512' });
    // The web hint names the limit's key for the operator (`xsys serve --limit key=n`), not a flag the user cannot pass.
    expect(res.json()).toMatchObject({ field: 'params.steps', hint: expect.stringMatching(/operator can raise the limit 'integrated-gradients\.steps'/) });
    // The server's own override: 3 samples at most.
    expect((await explain('smoothgrad', { samples: 4 })).statusCode).toBe(422);
    expect((await explain('smoothgrad', { samples: 3 })).statusCode).toBe(200);
    const occ = await explain('occlusion', { window: 1, stride: 1 });
    expect(occ.statusCode).toBe(200); // 784 windows on 28×28: within input.evaluations
  });

  it('answers 400 for invalid values instead of clamping them', async () => {
    for (const [method, params, re] of [
      ['smoothgrad', { samples: -5 }, /samples: must be ≥ 1 \(got -5\)/],
      ['integrated-gradients', { steps: 0 }, /steps: must be ≥ 1/],
      ['integrated-gradients', { steps: 2.5 }, /whole number/],
      ['lrp', { epsilon: -1 }, /epsilon: must be ≥ 0/],
      ['occlusion', { window: 40 }, /window \(40\) is larger than the input/],
    ] as const) {
      const res = await explain(method, params);
      expect(res.statusCode, `${method} ${JSON.stringify(params)}`).toBe(400);
      expect(res.json().detail).toMatch(re);
    }
  });
});

describe('CLI', async () => {
  const base = ['explain', 'examples/mnist/mnist-cnn.onnx', 'examples/mnist/samples.npy', '--out', '/tmp/xsys-limits-e2e-never'];
  it('exits 2 beyond a maximum and for invalid values or threads', async () => {
    const big = await xsys(...base, '--method', 'integrated-gradients', '--param', 'steps=1000000000');
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/steps: 1000000000 exceeds the limit of 512/);
    const neg = await xsys(...base, '--method', 'smoothgrad', '--param', 'samples=-5');
    expect(neg.code).toBe(2);
    expect(neg.stderr).toMatch(/must be ≥ 1/);
    for (const t of ['0', 'abc']) {
      const r = await xsys(...base, '--threads', t);
      expect(r.code, `--threads ${t}`).toBe(2);
      expect(r.stderr).toMatch(/--threads|input threads/);
    }
  });
});
