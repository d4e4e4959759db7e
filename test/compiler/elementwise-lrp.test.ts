/**
 * Element-wise functions of one tensor (Log, Sqrt, Pow with a constant exponent, Exp, Abs, Reciprocal, Neg, and x·x)
 * are activation units: LRP composites pass relevance through them unchanged. The plain gradient they used to get
 * scaled it by f'(x) — a log-mel front end's Log(mel + ε) by 1/(mel + ε) — so relevance was not conserved.
 */
import { describe, expect, it } from 'vitest';
import { compileExplainer } from '../../src/compiler/compile.js';
import { inspectModel } from '../../src/compiler/inspect.js';
import { namedComposite } from '../../src/composites/named.js';
import { buildModel, floatTensor, makeNode, runModel, valueInfo } from '../helpers/onnx.js';

const x = Float32Array.of(0.5, 2, 0.25, 3, 1.5, 0.1, 4, 0.75);
const R = Float32Array.of(1, -2, 0.5, 3, -1, 2, 0.25, -0.5);

function unary(op: string): ReturnType<typeof buildModel> {
  const node = op === 'Pow' ? makeNode('Pow', ['x', 'two'], ['y'], 'f') : op === 'MulSelf' ? makeNode('Mul', ['x', 'x'], ['y'], 'f') : makeNode(op, ['x'], ['y'], 'f');
  return buildModel({ nodes: [node], initializers: op === 'Pow' ? [floatTensor('two', Float32Array.of(2), [])] : [], inputs: [valueInfo('x', [2, 4])], outputs: [valueInfo('y', [2, 4])] });
}

describe('element-wise non-linearities under LRP composites', () => {
  it.each(['Log', 'Sqrt', 'Pow', 'Exp', 'Abs', 'Reciprocal', 'Neg', 'MulSelf'])('%s is an activation unit and passes relevance unchanged', async (op) => {
    const model = unary(op);
    const units = inspectModel(model, 'epsilon-plus').units;
    expect(units.map((u) => [u.kind, u.rule])).toEqual([['activation', 'pass']]);
    const c = compileExplainer(model, { method: 'lrp', seedMode: 'direct', composite: namedComposite('epsilon-plus') });
    const out = await runModel(c.bytes(), { x: { data: x, dims: [2, 4] }, [c.seedName]: { data: R, dims: [2, 4] } });
    expect(Array.from(out[c.attributionNames.x!]!.data)).toEqual(Array.from(R));
  });

  it('a Pow with a computed exponent is not an activation (its exponent carries relevance too)', () => {
    const model = buildModel({ nodes: [makeNode('Exp', ['e'], ['ee'], 'exp'), makeNode('Pow', ['x', 'ee'], ['y'], 'pow')], inputs: [valueInfo('x', [2, 4]), valueInfo('e', [2, 4])], outputs: [valueInfo('y', [2, 4])] });
    const pow = inspectModel(model, 'epsilon-plus').units.find((u) => u.name === 'pow')!;
    expect(pow.kind).toBe('other');
  });
});
