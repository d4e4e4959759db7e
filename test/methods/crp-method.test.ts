/**
 * `crp` as a method of the registry: explain() runs it through the session's conditional-relevance hook, the CLI
 * takes --method crp --conditions, and the declaration is what --help and GET /api/methods publish.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../../src/io/npy-file.js';
import { writeNpy } from '../../src/io/npy-file.js';
import { explain } from '../../src/methods/explain.js';
import { formatConditions, parseConditions } from '../../src/methods/conditions.js';
import { getMethod } from '../../src/methods/registry.js';
import { handModel } from '../helpers/crp.js';
import { xsys } from '../helpers/cli.js';

// handModel: x = (1, 2) → h = x·W1 = (5, 1) → y = h·W2 = (8, 1, 9); the prediction is class 2 (y = 9).
// LRP-ε (ε = 1e-9, dense layers, epsilon-plus): R(h) = h ⊙ W2[:, 2] / 9 · 9 = (10, −1).
// Condition h:0 keeps R(h0) = 10, split over x by x ⊙ W1[:, 0] / 5 = (1, 4)/5 → (2, 8).
// Condition h:1 keeps R(h1) = −1, split by x ⊙ W1[:, 1] / 1 = (−1, 2) → (1, −2). Both: LRP itself, (3, 6).
const x = { data: Float32Array.of(1, 2), dims: [1, 2] };
const opts = { composite: 'epsilon-plus', params: { epsilon: 1e-9 } } as const;

describe('the crp method', () => {
  it('is declared like every method: a composite, one pass, its conditions parameter', () => {
    const m = getMethod('crp');
    expect([m.composite, m.onePass, m.device, m.tokenInputs]).toEqual([true, true, false, false]);
    expect(m.params.map((p) => [p.name, p.type])).toEqual([['conditions', 'string']]);
  });

  it('explains with hand-computed conditional relevance; the two conditions add up to LRP', async () => {
    const model = handModel();
    const h0 = await explain(model, x, { method: 'crp', conditions: 'h:0', ...opts });
    expect(h0.targets).toEqual([2]);
    expect(h0.composite).toBe('epsilon-plus');
    expect(Array.from(h0.attribution.data)).toEqual([expect.closeTo(2, 5), expect.closeTo(8, 5)]);
    const h1 = await explain(model, x, { method: 'crp', conditions: [{ tensor: 'h', channels: [1] }], ...opts });
    expect(Array.from(h1.attribution.data)).toEqual([expect.closeTo(1, 5), expect.closeTo(-2, 5)]);
    const both = await explain(model, x, { method: 'crp', conditions: 'h:0,1', ...opts });
    const lrp = await explain(model, x, { method: 'lrp', ...opts });
    expect(Array.from(both.attribution.data)).toEqual([expect.closeTo(3, 5), expect.closeTo(6, 5)]);
    expect(Array.from(lrp.attribution.data)).toEqual([expect.closeTo(3, 5), expect.closeTo(6, 5)]);
  });

  it('refuses a missing condition, an unknown tensor and a channel out of range, naming them', async () => {
    const model = handModel();
    await expect(explain(model, x, { method: 'crp', ...opts })).rejects.toThrow(/crp needs conditions/);
    await expect(explain(model, x, { method: 'crp', conditions: 'nope:0', ...opts })).rejects.toThrow(/no tensor named 'nope'/);
    await expect(explain(model, x, { method: 'crp', conditions: 'h:7', ...opts })).rejects.toThrow(/channel 7 of 'h' is out of range \(it has 2 channels/);
    expect(() => parseConditions('h')).toThrow(/'h' is not of the form tensor:channels/);
    expect(() => parseConditions('h:a')).toThrow(/'a' \(layer 'h'\) is not a channel index/);
    expect(formatConditions(parseConditions(' h:0, 1 ; x:1'))).toBe('h:0,1;x:1');
  });

  it('xsys explain --method crp --conditions writes the conditional heatmap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xsys-crp-method-'));
    writeFileSync(join(dir, 'm.onnx'), toBinary(ModelProtoSchema, handModel()));
    await writeNpy(join(dir, 'x.npy'), x.data, x.dims);
    const r = await xsys('explain', join(dir, 'm.onnx'), join(dir, 'x.npy'), '--method', 'crp', '--conditions', 'h:0', '--composite', 'epsilon-plus', '--param', 'epsilon=1e-9', '--out', join(dir, 'out'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { method: string; composite: string; target: number; relevanceSum: number }[];
    expect(summary[0]).toMatchObject({ method: 'crp', composite: 'epsilon-plus', target: 2 });
    expect(summary[0]!.relevanceSum).toBeCloseTo(10, 4);
    const a = await readNpy(join(dir, 'out', 'x.npy'));
    expect(Array.from(a.data as Float32Array)).toEqual([expect.closeTo(2, 5), expect.closeTo(8, 5)]);
    const bad = await xsys('explain', join(dir, 'm.onnx'), join(dir, 'x.npy'), '--method', 'crp', '--out', join(dir, 'out2'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/crp needs conditions/);
  });
});
