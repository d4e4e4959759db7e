/**
 * The method registry: one declaration per method (parameters with defaults, ranges and descriptions; where it runs),
 * read by explain(), the CLI's --help, the API (GET /api/methods) and the composites' own declarations.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPOSITE_NAMES, compositeDeclarations, compositeParams, NAMED_COMPOSITES } from '../../src/composites/index.js';
import { DECLARED_COMPOSITE_PARAMS } from '../../src/composites/params.js';
import { explain, METHOD_PARAMS } from '../../src/methods/explain.js';
import { defineMethod, getMethod, METHOD_NAMES, METHODS } from '../../src/methods/registry.js';
import { describeParam, numericDefaults } from '../../src/param-spec.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';
import { startBench, violations, type TestBench } from '../server/helpers.js';

describe('method declarations', () => {
  it('name every method once, with a description, and flags that match how each method runs', () => {
    expect([...METHOD_NAMES]).toEqual(['lrp', 'gradient', 'gradient-x-input', 'smoothgrad', 'integrated-gradients', 'occlusion', 'grad-cam', 'crp']);
    for (const m of METHODS) {
      expect(m.description.length, m.name).toBeGreaterThan(10);
      for (const p of m.params) expect(p.description.length, `${m.name}.${p.name}`).toBeGreaterThan(5);
    }
    const flag = (k: 'onePass' | 'device' | 'tokenInputs' | 'composite') => METHODS.filter((m) => m[k]).map((m) => m.name);
    expect(flag('device')).toEqual(['lrp', 'gradient', 'gradient-x-input']);
    expect(flag('tokenInputs')).toEqual(['lrp', 'gradient', 'gradient-x-input']);
    expect(flag('onePass')).toEqual(['lrp', 'gradient', 'gradient-x-input', 'grad-cam', 'crp']);
    expect(flag('composite')).toEqual(['lrp', 'crp']);
    // One-pass methods that other front ends (several inputs, the device) run declare their compiled graph.
    expect(METHODS.filter((m) => m.pass).map((m) => [m.name, m.pass])).toEqual([
      ['lrp', { backward: 'lrp', timesInput: false }],
      ['gradient', { backward: 'gradient', timesInput: false }],
      ['gradient-x-input', { backward: 'gradient', timesInput: true }],
    ]);
  });

  it('give the defaults explain() uses, inside their declared ranges', () => {
    expect(METHOD_PARAMS.smoothgrad).toEqual({ noiseLevel: 0.1, samples: 20, seed: 0 });
    expect(METHOD_PARAMS['integrated-gradients']).toEqual({ steps: 20, baseline: 0 });
    expect(METHOD_PARAMS.occlusion).toEqual({ window: 8, stride: 4, fill: 0 });
    expect(METHOD_PARAMS['grad-cam']).toEqual({});
    for (const m of METHODS) {
      for (const p of m.params) {
        if (typeof p.default !== 'number') continue;
        expect(p.default, `${m.name}.${p.name}`).toBeGreaterThanOrEqual(p.min ?? -Infinity);
        expect(p.default, `${m.name}.${p.name}`).toBeLessThanOrEqual(p.max ?? Infinity);
      }
    }
    expect(describeParam(getMethod('smoothgrad').params[1]!)).toBe('samples (integer, default 20, 1–256): noisy copies averaged per input');
  });

  it('defineMethod refuses a parameter declared twice or a default outside its range', () => {
    const run = async () => ({ attribution: { data: new Float32Array(0), dims: [0] } });
    expect(() => defineMethod({ name: 'x', description: 'd', params: [{ name: 'a', type: 'integer', description: 'a' }, { name: 'a', type: 'number', description: 'b' }], explain: run })).toThrow(/'a' is declared twice/);
    expect(() => defineMethod({ name: 'x', description: 'd', params: [{ name: 'k', type: 'integer', default: 0, min: 1, description: 'k' }], explain: run })).toThrow(/default of 'k' \(0\) is outside its range/);
    const m = defineMethod({ name: 'y', description: 'd', params: [], explain: run });
    expect([m.onePass, m.device, m.tokenInputs, m.composite]).toEqual([false, false, false, false]);
  });

  it('getMethod names the methods when the name is unknown', () => {
    expect(() => getMethod('lime')).toThrow(/unknown method 'lime'.*/);
    try {
      getMethod('lime');
    } catch (e) {
      expect((e as { hint?: string }).hint).toBe(`methods: ${METHOD_NAMES.join(', ')}`);
    }
  });
});

describe('explain() reads the declarations', () => {
  // y = W x + b with W = [[1, 2], [3, -1]], b = 0: the gradient of class 0 is (1, 2).
  const model = buildModel({
    nodes: [makeNode('Gemm', ['x', 'W'], ['y'], 'fc', { transB: { int: 1 } })],
    initializers: [floatTensor('W', new Float32Array([1, 2, 3, -1]), [2, 2])],
    inputs: [valueInfo('x', ['N', 2])],
    outputs: [valueInfo('y', ['N', 2])],
  });
  const x = { data: new Float32Array([0.5, -1]), dims: [1, 2] };

  it('an undeclared parameter is an error listing the declared ones; declared ones take effect', async () => {
    await expect(explain(model, x, { method: 'smoothgrad', params: { sigma: 1 } })).rejects.toThrow(/method 'smoothgrad' has no parameter 'sigma'/);
    await expect(explain(model, x, { method: 'gradient', params: { steps: 3 } })).rejects.toThrow(/method 'gradient' has no parameter 'steps'/);
    // Integrated gradients of a linear model with steps = 1 from baseline 0: W[t] ⊙ x exactly.
    const e = await explain(model, x, { method: 'integrated-gradients', target: 0, params: { steps: 1 } });
    expect(Array.from(e.attribution.data)).toEqual([0.5, -2]);
    const g = await explain(model, x, { method: 'gradient-x-input', target: 1 });
    expect(Array.from(g.attribution.data)).toEqual([1.5, 1]);
  });
});

describe('composite declarations', () => {
  it('declare every parameter of every named composite with its default (ZBox bounds have none)', () => {
    expect(compositeDeclarations().map((c) => c.name)).toEqual(COMPOSITE_NAMES);
    for (const [name, c] of Object.entries(NAMED_COMPOSITES)) {
      for (const k of Object.keys(c.params)) expect(DECLARED_COMPOSITE_PARAMS, `${name}.${k}`).toContain(k);
      const declared = compositeParams(name);
      expect(declared.map((p) => p.name)).toEqual(Object.keys(c.params));
      const defaults = numericDefaults(declared);
      for (const [k, v] of Object.entries(c.params)) expect(defaults[k], `${name}.${k}`).toBe(v);
    }
    const box = compositeDeclarations().find((c) => c.name === 'epsilon-gamma-box')!;
    expect(box.params.find((p) => p.name === 'low')).not.toHaveProperty('default');
    expect(box.params.find((p) => p.name === 'gamma')).toMatchObject({ type: 'number', default: 0.25, min: 0 });
    expect(compositeDeclarations().filter((c) => c.family === 'transformer').map((c) => c.name)).toEqual(['attnlrp', 'cp-lrp']);
  });
});

describe('GET /api/methods and xsys explain --help', () => {
  let wb: TestBench;
  beforeAll(async () => {
    wb = await startBench();
  });
  afterAll(async () => wb.dispose());

  it('the API publishes the registry, as its OpenAPI document says', async () => {
    const res = await wb.app.inject({ url: '/api/methods' });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { methods: { name: string; params: unknown[] }[]; composites: { name: string }[] };
    expect(body.methods.map((m) => m.name)).toEqual([...METHOD_NAMES]);
    expect(body.methods.find((m) => m.name === 'occlusion')!.params).toEqual(getMethod('occlusion').params);
    expect(body.composites.map((c) => c.name)).toEqual(COMPOSITE_NAMES);
    const doc = (await wb.app.inject({ url: '/openapi.json' })).json();
    const schema = doc.paths['/api/methods'].get.responses['200'].content['application/json'].schema;
    expect(violations(schema, body, doc.components.schemas)).toEqual([]);
    expect(violations(schema, { methods: [{ name: 'x' }], composites: [] }, doc.components.schemas).length).toBeGreaterThan(0);
  });

  it('the CLI help lists every method and every parameter with its default and range', () => {
    const help = execFileSync('node', ['bin/xsys.js', 'explain', '--help'], { encoding: 'utf8' });
    for (const m of METHODS) {
      expect(help).toContain(`  ${m.name.padEnd(22)}${m.description}`);
      for (const p of m.params) expect(help).toContain(describeParam(p));
    }
    expect(help).toContain('gamma (number, default 0.25, 0–1000000)');
  });
});
