/**
 * `xsys inspect` and the compiler share their front half (compiler/plan.ts): on every conformance model and composite,
 * inspect must report exactly the rule the compiled backward pass applies to each unit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileExplainer } from '../../src/compiler/compile.js';
import { describeRule, inspectModel, UNREACHED } from '../../src/compiler/inspect.js';
import { namedComposite } from '../../src/composites/index.js';
import { parseModel } from '../../src/onnx/model.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';

interface Case { id: string; model: string; method: string; composite?: string; params?: Record<string, number> }

const MANIFESTS = ['test/fixtures/conformance', 'test/fixtures/transformer-conformance'];
const cases: (Case & { dir: string })[] = MANIFESTS.flatMap((dir) =>
  (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { cases: Case[] }).cases.map((c) => ({ ...c, dir })),
);
const lrpCases = cases.filter((c) => c.method === 'lrp');
const models = [...new Set(cases.map((c) => join(c.dir, c.model)))];

describe('inspect reports the rules the compiled explainer applies', () => {
  it('covers every conformance model', () => {
    expect(models.length).toBeGreaterThanOrEqual(6);
    expect(new Set(lrpCases.map((c) => join(c.dir, c.model))).size).toBe(models.length);
  });

  for (const c of lrpCases) {
    it(c.id, () => {
      const bytes = readFileSync(join(c.dir, c.model));
      const composite = namedComposite(c.composite!, c.params ?? {});
      const compiled = compileExplainer(bytes, { method: 'lrp', composite });
      const inspection = inspectModel(parseModel(bytes), composite);
      const applied = new Map([...compiled.appliedRules].map(([u, r]) => [u.name, describeRule(r)]));
      const reported = new Map(inspection.units.map((u) => [u.name, u.rule]));
      // Every unit the compiler applied a rule to is listed with that rule …
      for (const [name, rule] of applied) expect(reported.get(name), name).toBe(rule);
      // … and every unit inspect lists with a rule got that rule in the compiled graph (none is assigned but skipped);
      // a unit inspect says no relevance reaches (a squeeze-excitation gate's branch) got none.
      for (const [name, rule] of reported) expect(applied.get(name) ?? (rule === UNREACHED ? UNREACHED : 'gradient'), name).toBe(rule);
      // A composite that matches nothing in a model (guided backprop without a Relu) applies no rule, in both.
      if (!['guided-backprop', 'deconvnet'].includes(c.composite!)) expect(applied.size).toBeGreaterThan(0);
      // The first linear layer is the one the composite's first-layer entry sees, in both.
      expect(inspection.composite).toBe(composite.name);
    });
  }

  it("a squeeze-excitation gate's branch gets no relevance under xsys' composites, and Zennit's gradient under zennit:", () => {
    const bytes = readFileSync('test/fixtures/conformance/models/se-stack-mini.onnx');
    const unreached = (composite: string) => inspectModel(parseModel(bytes), composite).units.filter((u) => u.rule === UNREACHED).map((u) => u.name);
    expect(unreached('epsilon-plus-flat')).toEqual(expect.arrayContaining(['/se/pool/GlobalAveragePool']));
    expect(unreached('zennit:epsilon-plus-flat')).toEqual([]);
    expect(inspectModel(parseModel(bytes), 'epsilon-plus-flat').units.find((u) => u.name === '/se/Mul')).toMatchObject({ kind: 'pooled-gate', rule: 'signal-take-all' });
  });

  it('a gradient compilation applies no rule', () => {
    const bytes = readFileSync('test/fixtures/conformance/models/mlp.onnx');
    expect(compileExplainer(bytes, { method: 'gradient' }).appliedRules.size).toBe(0);
  });

  it('a model the compiler refuses (its output does not depend on the input) is still inspected', () => {
    // y = Relu(c) for a constant c: nothing to explain, but the model can be described.
    const model = buildModel({
      nodes: [makeNode('Relu', ['c'], ['y'], 'relu'), makeNode('Identity', ['x'], ['x_copy'], 'id')],
      initializers: [floatTensor('c', new Float32Array([1, -1]), [2])],
      inputs: [valueInfo('x', [1, 2])],
      outputs: [valueInfo('y', [2]), valueInfo('x_copy', [1, 2])],
    });
    expect(() => compileExplainer(model, { method: 'lrp' })).toThrow(/output 'y' does not depend on the float inputs/);
    const info = inspectModel(model, 'epsilon-plus-flat');
    expect(info.explained).toBe('y');
    expect(info.ops).toEqual({ Relu: 1, Identity: 1 });
    expect(info.inputs).toEqual([{ name: 'x', shape: [1, 2], elemType: 1 }]);
    expect(info.units).toEqual([]);
  });
});
