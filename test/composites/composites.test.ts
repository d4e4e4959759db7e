/**
 * The composite layer on its own: the rule registry (getRule, RULES), named composites and their parameters,
 * user-defined composites (parseComposite, loadCompositeFile, resolveComposite), and assignRules on the units of a
 * small Conv → Relu → Gemm model. The composites' effect on numbers is checked through explain() on a one-layer
 * model where each rule's relevance is a line of arithmetic.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelProto } from 'onnx-buf';
import { afterAll, describe, expect, it } from 'vitest';
import { COMPOSITE_NAMES, NAMED_COMPOSITES, assignRules, namedComposite, parseComposite } from '../../src/composites/index.js';
import { loadCompositeFile, resolveComposite } from '../../src/composites/file.js';
import { RULES, getRule } from '../../src/rules/index.js';
import { canonicalize } from '../../src/canonicalize/index.js';
import { buildUnits } from '../../src/compiler/units.js';
import { Graph } from '../../src/ir/graph.js';
import { cloneModel } from '../../src/onnx/model.js';
import { explain } from '../../src/methods/explain.js';
import { FileFormatError, InvalidArgumentError, UnsupportedNodeError } from '../../src/errors.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';

const tmp = mkdtempSync(join(tmpdir(), 'xsys-composites-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writeJson(name: string, value: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

const W = [1, -2, 0.5, 3];
const X = [0.5, -1, 2, 0.25];
/** y = w·x + 0.1, one class: z = 0.5 + 2 + 1 + 0.75 + 0.1 = 4.35. */
const Z = 4.35;

function dense(): ModelProto {
  return buildModel({
    nodes: [makeNode('Gemm', ['x', 'W', 'b'], ['y'], 'fc', { transB: { int: 1 } })],
    initializers: [floatTensor('W', Float32Array.from(W), [1, 4]), floatTensor('b', Float32Array.of(0.1), [1])],
    inputs: [valueInfo('x', [1, 4])],
    outputs: [valueInfo('y', [1, 1])],
  });
}

/** Conv (2×2, 1→2 channels) → Relu → Flatten → Gemm (8 → 3). */
function convNet(): ModelProto {
  return buildModel({
    nodes: [
      makeNode('Conv', ['x', 'K'], ['c'], 'conv1', { kernel_shape: { ints: [2, 2] } }),
      makeNode('Relu', ['c'], ['r'], 'relu1'),
      makeNode('Flatten', ['r'], ['f'], 'flatten'),
      makeNode('Gemm', ['f', 'V'], ['y'], 'fc1', { transB: { int: 1 } }),
    ],
    initializers: [floatTensor('K', new Float32Array(8).fill(0.5), [2, 1, 2, 2]), floatTensor('V', new Float32Array(24).fill(0.1), [3, 8])],
    inputs: [valueInfo('x', [1, 1, 3, 3])],
    outputs: [valueInfo('y', [1, 3])],
  });
}

function unitsOf(model: ModelProto) {
  const g = new Graph(cloneModel(model));
  const { regions, norms } = canonicalize(g);
  const units = buildUnits(g, regions, norms);
  return { units, first: units.find((u) => u.linear) };
}

async function relevance(composite: string, params?: Record<string, number>): Promise<number[]> {
  const e = await explain(dense(), { data: Float32Array.from(X), dims: [1, 4] }, { method: 'lrp', composite, params, target: 0 });
  return Array.from(e.attribution.data);
}

function expectClose(actual: number[], expected: number[], tol = 1e-5): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!), `element ${i}: ${a} vs ${expected[i]}`).toBeLessThan(tol * Math.max(1, Math.abs(expected[i]!))));
}

describe('getRule / RULES', () => {
  it('has every rule under its own name with its default parameters', () => {
    expect(Object.keys(RULES).sort()).toEqual(
      ['alpha-beta', 'deconvnet', 'epsilon', 'flat', 'gamma', 'gradient', 'gradient-times-input', 'guided-backprop', 'identity', 'norm', 'norm-identity', 'pass', 'signal-take-all', 'stop-gradient', 'uniform', 'wsquare', 'zbox', 'zplus'].sort(),
    );
    for (const [name, rule] of Object.entries(RULES)) expect(rule.name).toBe(name);
    expect(RULES.epsilon!.params).toEqual({ epsilon: 1e-6 });
    expect(RULES['alpha-beta']!.params).toEqual({ alpha: 2, beta: 1, stabilizer: 1e-6 });
    expect(RULES.gamma!.params.gamma).toBe(0.25);
    expect(RULES.zplus!.linearOnly).toBe(true);
    expect(RULES.epsilon!.linearOnly).toBe(false);
  });

  it("accepts Zennit's class names and other spellings", () => {
    expect(getRule('ZPlus').name).toBe('zplus');
    expect(getRule('AlphaBeta').name).toBe('alpha-beta');
    expect(getRule('W_Square').name).toBe('wsquare');
    expect(getRule('z-box').name).toBe('zbox');
    expect(getRule('GuidedBackprop').name).toBe('guided-backprop');
    expect(getRule('EPSILON').name).toBe('epsilon');
  });

  it('an unknown rule is an InvalidArgumentError listing the known rules', () => {
    const err = (() => {
      try {
        getRule('lrp-magic');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).message).toBe("rule: unknown rule 'lrp-magic'");
    expect((err as InvalidArgumentError).hint).toContain('alpha-beta');
  });
});

describe('named composites', () => {
  it('COMPOSITE_NAMES are the keys of NAMED_COMPOSITES, and each one builds with its defaults', () => {
    expect(COMPOSITE_NAMES).toEqual(Object.keys(NAMED_COMPOSITES));
    expect(COMPOSITE_NAMES).toContain('epsilon-plus-flat');
    for (const name of COMPOSITE_NAMES) {
      const c = namedComposite(name);
      expect(c.name).toBe(name);
      expect(c.entries.length).toBeGreaterThan(0);
      for (const e of c.entries) expect(() => getRule(e.rule)).not.toThrow();
    }
    expect(namedComposite('attnlrp').form).toBe('gradient');
    expect(namedComposite('epsilon-plus').form).toBeUndefined();
  });

  it('normalises the name and puts given parameters into the entries', () => {
    const c = namedComposite('Epsilon_Gamma_Box', { gamma: 0.5, low: -1, high: 1 });
    expect(c.name).toBe('epsilon-gamma-box');
    expect(c.entries[0]).toEqual({ match: { first: true }, rule: 'zbox', params: { low: -1, high: 1, stabilizer: 1e-6 } });
    expect(c.entries.find((e) => e.rule === 'gamma')!.params).toEqual({ gamma: 0.5, stabilizer: 1e-6 });
    expect(c.entries.find((e) => e.rule === 'epsilon')!.params).toEqual({ epsilon: 1e-6 });
  });

  it('unknown names and parameters are errors that say what is known', () => {
    expect(() => namedComposite('epsilon-minus')).toThrow(/unknown composite 'epsilon-minus'/);
    expect(() => namedComposite('deconvnet', { epsilon: 1 })).toThrow(/composite 'deconvnet' has no parameter 'epsilon'/);
    try {
      namedComposite('epsilon-plus', { gamma: 1 });
    } catch (e) {
      expect((e as InvalidArgumentError).argument).toBe('--param');
      expect((e as InvalidArgumentError).hint).toBe('its parameters: epsilon, stabilizer');
    }
    expect.assertions(4);
  });

  it('numbers on one dense layer: epsilon-plus gives x_i w_i · z / (z + ε), epsilon-plus-flat gives z / 4', async () => {
    expectClose(await relevance('epsilon-plus', { epsilon: 0.65 }), W.map((w, i) => (X[i]! * w * Z) / (Z + 0.65)));
    expectClose(await relevance('epsilon-plus-flat'), [Z / 4, Z / 4, Z / 4, Z / 4]);
  });
});

describe('user-defined composites', () => {
  it('parseComposite: rule defaults filled in, given parameters applied, extends appended after the user entries', () => {
    const c = parseComposite({ name: 'mine', extends: 'attnlrp', entries: [{ match: { kind: ['conv', 'dense'], name: '/^fc/' }, rule: 'Gamma', params: { gamma: 0.5 } }] });
    expect(c.name).toBe('mine');
    expect(c.form).toBe('gradient');
    expect(c.entries[0]).toEqual({ match: { kind: ['conv', 'dense'], name: '/^fc/' }, rule: 'gamma', params: { gamma: 0.5, stabilizer: 1e-6 } });
    expect(c.entries.slice(1)).toEqual(namedComposite('attnlrp').entries);
    expect(parseComposite({ entries: [], form: 'relevance', extends: 'attnlrp' }).form).toBe('relevance');
    expect(parseComposite({ entries: [] }).name).toBe('user');
  });

  it('parseComposite rejects malformed composites, naming the source and the entry', () => {
    const bad: [unknown, RegExp][] = [
      [42, /must be a JSON object/],
      [{}, /needs an 'entries' array/],
      [{ entries: ['x'] }, /entries\[0\] must be an object/],
      [{ entries: [{ match: {} }] }, /entries\[0\].rule must be a rule name/],
      [{ entries: [{ match: {}, rule: 'epsilon' }, { rule: 'nope' }] }, /entries\[1\].rule: unknown rule 'nope'/],
      [{ entries: [{ rule: 'epsilon', match: { layer: 'x' } }] }, /unknown field 'layer'/],
      [{ entries: [{ rule: 'epsilon', match: { kind: 'lstm' } }] }, /kind 'lstm' is not one of/],
      [{ entries: [{ rule: 'epsilon', match: { name: 3 } }] }, /match.name must be a string/],
      [{ entries: [{ rule: 'epsilon', match: 5 }] }, /entries\[0\].match must be an object/],
      [{ entries: [{ rule: 'epsilon', match: ['conv'] }] }, /entries\[0\].match must be an object/],
      [{ entries: [{ rule: 'epsilon', match: { opType: 7 } }] }, /match.opType must be an op type/],
      [{ entries: [{ rule: 'epsilon', match: { opType: ['Conv', 1] } }] }, /match.opType must be an op type/],
      [{ entries: [{ rule: 'epsilon', match: { first: 'false' } }] }, /match.first must be true or false/],
      [{ entries: [{ rule: 'epsilon', params: { gamma: 1 } }] }, /rule 'epsilon' has no parameter 'gamma' \(it has: epsilon\)/],
      [{ entries: [{ rule: 'epsilon', params: { epsilon: 'big' } }] }, /params.epsilon must be a finite number/],
      [{ entries: [], form: 'both' }, /'form' must be 'relevance' or 'gradient'/],
      [{ entries: [], extends: 7 }, /'extends' must be the name/],
      [{ entries: [], extends: 'attnlrpp' }, /'extends': unknown composite 'attnlrpp'/],
    ];
    for (const [value, msg] of bad) {
      expect(() => parseComposite(value, 'my.json'), JSON.stringify(value)).toThrow(msg);
      expect(() => parseComposite(value, 'my.json')).toThrow(/^my\.json: /);
    }
  });

  it('loadCompositeFile reads the example AttnLRP-Gamma composite', () => {
    const c = loadCompositeFile('examples/transformers/attnlrp-gamma.json');
    expect(c.name).toBe('attnlrp-gamma');
    expect(c.form).toBe('gradient');
    expect(c.entries[0]!.params).toEqual({ gamma: 0.25, stabilizer: 1e-6 });
  });

  it('loadCompositeFile: a missing file and invalid JSON are FileFormatErrors naming the file', () => {
    const missing = join(tmp, 'missing.json');
    expect(() => loadCompositeFile(missing)).toThrow(FileFormatError);
    expect(() => loadCompositeFile(missing)).toThrow(/ENOENT/);
    const broken = writeJson('broken.json', '{ "entries": [');
    try {
      loadCompositeFile(broken);
    } catch (e) {
      expect(e).toBeInstanceOf(FileFormatError);
      expect((e as FileFormatError).file).toBe(broken);
      expect((e as FileFormatError).message).toMatch(/not valid JSON/);
    }
    expect.assertions(5);
  });

  it('resolveComposite: a name gives the named composite, a .json path the file', () => {
    expect(resolveComposite('epsilon-plus', { epsilon: 0.1 })).toEqual(namedComposite('epsilon-plus', { epsilon: 0.1 }));
    const path = writeJson('wsq.json', { name: 'wsq', entries: [{ match: { kind: 'dense' }, rule: 'wsquare' }] });
    expect(resolveComposite(path).name).toBe('wsq');
    expect(() => resolveComposite(join(tmp, 'nothing.json'))).toThrow(FileFormatError);
  });

  it('resolveComposite: parameters beside a composite file are an error, not silently dropped', async () => {
    const path = writeJson('eps.json', { entries: [{ match: { kind: 'dense' }, rule: 'epsilon', params: { epsilon: 0.5 } }] });
    expect(() => resolveComposite(path, { epsilon: 0.01 })).toThrow(InvalidArgumentError);
    expect(() => resolveComposite(path, { epsilon: 0.01 })).toThrow(/epsilon: composite file '.*eps\.json' takes no parameters/);
    await expect(explain(dense(), { data: Float32Array.from(X), dims: [1, 4] }, { method: 'lrp', composite: path, params: { epsilon: 0.01 } })).rejects.toThrow(/takes no parameters/);
    // Without parameters the file's own ε = 0.5 applies.
    expectClose(await relevance(path), W.map((w, i) => (X[i]! * w * Z) / (Z + 0.5)));
  });

  it('numbers from a composite file: WSquare spreads z by w_i² / (Σ w² + b²), an epsilon matched by node name uses its ε', async () => {
    const wsq = writeJson('wsquare.json', { entries: [{ match: { kind: 'dense' }, rule: 'wsquare' }] });
    // w² = 1, 4, 0.25, 9; with the squared bias 0.01 (Zennit's WSquare squares every parameter) Σ = 14.26.
    expectClose(await relevance(wsq), [1, 4, 0.25, 9].map((s) => (Z * s) / 14.26));
    const eps = writeJson('by-name.json', { entries: [{ match: { name: 'fc' }, rule: 'epsilon', params: { epsilon: 1.65 } }] });
    expectClose(await relevance(eps), W.map((w, i) => (X[i]! * w * Z) / (Z + 1.65)));
    // A name that matches no node leaves the layer to the gradient: R_i = w_i · R, with R = z (the LRP seed).
    const none = writeJson('no-match.json', { entries: [{ match: { name: 'other' }, rule: 'epsilon', params: { epsilon: 1.65 } }] });
    expectClose(await relevance(none), W.map((w) => w * Z));
  });
});

describe('assignRules', () => {
  it('maps each unit of Conv → Relu → Gemm by the first matching entry; the first linear layer is the conv', () => {
    const { units, first } = unitsOf(convNet());
    expect(first!.name).toBe('conv1');
    const byName = (m: Map<{ name: string }, { rule: { name: string }; params: Record<string, number> }>) => Object.fromEntries([...m].map(([u, a]) => [u.name, [a.rule.name, a.params]]));
    expect(byName(assignRules(namedComposite('epsilon-plus-flat', { epsilon: 0.01 }), units, first))).toEqual({
      conv1: ['flat', { stabilizer: 1e-6 }],
      relu1: ['pass', {}],
      fc1: ['epsilon', { epsilon: 0.01 }],
    });
    expect(byName(assignRules(namedComposite('epsilon-alpha2-beta1'), units, first))).toMatchObject({ conv1: ['alpha-beta', { alpha: 2, beta: 1 }], fc1: ['epsilon', {}] });
    // Guided backprop matches by op type only: the linear layers get no entry (the gradient).
    expect(byName(assignRules(namedComposite('guided-backprop'), units, first))).toEqual({ relu1: ['guided-backprop', {}] });
    // Without a first layer, 'first: true' entries match nothing.
    expect(byName(assignRules(namedComposite('epsilon-plus-flat'), units, undefined)).conv1![0]).toBe('zplus');
  });

  it('name matchers: exact node names and /regular expressions/', () => {
    const { units, first } = unitsOf(convNet());
    const c = parseComposite({ entries: [{ match: { name: '/^fc\\d$/' }, rule: 'epsilon', params: { epsilon: 0.3 } }, { match: { name: 'conv1' }, rule: 'gamma' }] });
    const got = Object.fromEntries([...assignRules(c, units, first)].map(([u, a]) => [u.name, a.rule.name]));
    expect(got).toEqual({ fc1: 'epsilon', conv1: 'gamma' });
  });

  it('a rule that needs a linear layer, matched to an activation, is an UnsupportedNodeError naming the node', () => {
    const { units, first } = unitsOf(convNet());
    const c = parseComposite({ name: 'wrong', entries: [{ match: { kind: 'activation' }, rule: 'zplus' }] });
    try {
      assignRules(c, units, first);
    } catch (e) {
      expect(e).toBeInstanceOf(UnsupportedNodeError);
      expect((e as UnsupportedNodeError).nodeName).toBe('relu1');
      expect((e as UnsupportedNodeError).opType).toBe('Relu');
      expect((e as UnsupportedNodeError).message).toMatch(/composite 'wrong' maps it to rule 'zplus'/);
      expect((e as UnsupportedNodeError).exitCode).toBe(3);
    }
    expect.assertions(5);
  });
});
