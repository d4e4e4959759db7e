/**
 * An MLP head with nn.LayerNorm as torch 1.13 exports it at opset ≤ 16 — decomposed into ReduceMean / Sub / Pow /
 * ReduceMean / Add / Sqrt / Div / Mul / Add, with Constant nodes for the exponent and ε — the pattern of the
 * wake-word heads in issue 12 (relevance sum 1e-11 against a score of 1e-3 before the norm rule). The fixture,
 * test/fixtures/inputs/ln-head.onnx (linear 16→12, ReLU, LayerNorm(12) with a learnt scale and shift, linear 12→8,
 * ReLU, linear 8→3, all with small biases), is built by scripts/make_input_fixtures.py. Checked: under `lrp`
 * epsilon-plus-flat the input relevance is within 50 % of the explained logit (the biases take the rest), and under
 * every CNN composite the relevance passes the normalisation itself within 1 % — measured with the shift β set to
 * 0 (a shift takes its share of y = x̂·γ + β, as a bias does; test/compiler/layernorm-lrp.test.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileExplainer } from '../../src/compiler/compile.js';
import { namedComposite } from '../../src/composites/named.js';
import { cloneModel, parseModel, serializeModel } from '../../src/onnx/model.js';
import { rng, runModel, uniform } from '../helpers/onnx.js';

const bytes = new Uint8Array(readFileSync('test/fixtures/inputs/ln-head.onnx'));
const model = parseModel(bytes, 'ln-head.onnx');
/** The same head with the LayerNorm's shift β = 0. */
const unshifted = cloneModel(model);
const beta = unshifted.graph!.initializer.find((t) => t.name === 'ln.bias')!;
beta.rawData = new Uint8Array(beta.rawData.length);
beta.floatData = [];
/** The norm's input (the ReLU before it) and its output (after + β); names as torch wrote them. */
const [NORM_IN, NORM_OUT] = ['/Relu_output_0', '/ln/Add_1_output_0'];
const CNN_COMPOSITES = ['epsilon-plus', 'epsilon-plus-flat', 'epsilon-alpha2-beta1', 'epsilon-alpha2-beta1-flat', 'epsilon-gamma-box', 'excitation-backprop'];
const samples = Array.from({ length: 8 }, (_, i) => uniform(rng(100 + i), 16, -1, 1));

const sum = (t: Float32Array) => t.reduce((s, v) => s + v, 0);

async function explainHead(m: typeof model, composite: string, x: Float32Array, pick: 'largest' | 'largest-magnitude') {
  const c = compileExplainer(m, { method: 'lrp', composite: namedComposite(composite), relevanceAt: [NORM_IN, NORM_OUT] });
  const logits = (await runModel(serializeModel(m), { x: { data: x, dims: [1, 16] } })).y!.data;
  // 'largest-magnitude': the class with the largest |logit| (a relative check needs a score away from 0);
  // 'largest': the predicted class (excitation backprop passes positive evidence only: a negative seed gives 0).
  const key = Array.from(logits, pick === 'largest' ? (v) => v : Math.abs);
  const target = key.indexOf(Math.max(...key));
  const seed = new Float32Array(3);
  seed[target] = 1;
  const out = await runModel(c.bytes(), { x: { data: x, dims: [1, 16] }, [c.seedName]: { data: seed, dims: [1, 3] } });
  return { logit: logits[target]!, input: sum(out[c.attributionNames.x!]!.data), normIn: sum(out[c.relevanceAtNames[NORM_IN]!]!.data), normOut: sum(out[c.relevanceAtNames[NORM_OUT]!]!.data) };
}

describe('torch-exported MLP head with a decomposed LayerNorm (opset 14)', () => {
  it('is exported decomposed, as the heads of issue 12 are', () => {
    const ops = model.graph!.node.map((n) => n.opType);
    expect(ops).not.toContain('LayerNormalization');
    for (const op of ['ReduceMean', 'Sub', 'Pow', 'Sqrt', 'Div']) expect(ops).toContain(op);
  });

  it('lrp epsilon-plus-flat: the input relevance is within 50 % of the explained logit on every sample', async () => {
    for (const x of samples) {
      const r = await explainHead(model, 'epsilon-plus-flat', x, 'largest-magnitude');
      expect(Number.isFinite(r.input)).toBe(true);
      expect(Math.abs(r.logit)).toBeGreaterThan(1e-2);
      console.log(`ln-head: logit ${r.logit.toFixed(4)}, input relevance ${r.input.toFixed(4)} (${((100 * r.input) / r.logit).toFixed(1)} %)`);
      expect(Math.abs(r.input - r.logit)).toBeLessThanOrEqual(0.5 * Math.abs(r.logit));
    }
  });

  it.each(CNN_COMPOSITES)('%s passes relevance through the normalisation within 1 % (β = 0)', async (composite) => {
    let checked = 0;
    for (const x of samples) {
      const r = await explainHead(unshifted, composite, x, 'largest');
      if (r.logit < 0.05) continue;
      checked++;
      // Relevance reaches the norm (not the 1e-11 of a gradient-style pass through x − mean(x)) and passes it.
      expect(Math.abs(r.normOut)).toBeGreaterThan(0.1 * r.logit);
      expect(Math.abs(r.normIn - r.normOut)).toBeLessThanOrEqual(0.01 * Math.abs(r.normOut));
    }
    expect(checked).toBeGreaterThanOrEqual(4);
  });
});
