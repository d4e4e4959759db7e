/**
 * Reveal to Revise on the Clever-Hans model (the done-when figures): the square's CAV at conv2 localises it
 * (the pasted images rank first, masks cover the square), and P-ClArC in the graph at least halves the gap between
 * clean and pasted test accuracy with ≤ 2 points clean-accuracy loss while the square's relevance share drops.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelProto } from 'onnx-buf';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { createSession } from '../../src/runtime/session.js';
import { serializeModel } from '../../src/onnx/model.js';
import { inspectModel } from '../../src/compiler/inspect.js';
import { namedComposite } from '../../src/composites/index.js';
import type { ArtefactCav } from '../../src/correction/localise.js';
import type { ArtefactSpec } from '../../src/strategies/artefact.js';
import { loadAll, type Mnist } from '../../examples/clever-hans/findings.js';
import { artefactCav, correctAndEvaluate, evaluationSets, loadModel, localiseFinding } from '../../examples/clever-hans/correction.js';

let mx: ModelExplainer;
let data: Mnist;
let spec: ArtefactSpec;
let model: ModelProto;
let cav: ArtefactCav;

beforeAll(async () => {
  ({ mx, data, spec } = await loadAll());
  model = await loadModel();
  cav = await artefactCav(mx, data, spec);
}, 120_000);

describe('Reveal to Revise on the Clever-Hans CNN', () => {
  it('the CAV separates the square and its CAV-conditioned relevance localises it', async () => {
    expect(cav.cav.accuracy).toBe(1);
    expect(cav.artefactProjection).toBeGreaterThan(cav.cleanProjection + 10);
    const loc = await localiseFinding(model, cav, data, spec);
    expect(loc.pastedRankedFirst).toBe(60);
    expect(loc.meanIouPasted).toBeGreaterThan(0.5);
    expect(loc.meanIouClean).toBeLessThan(0.1);
  }, 120_000);

  it('P-ClArC halves the clean-vs-pasted gap with ≤ 2 points clean loss; the relevance share and TCAV drop', async () => {
    const sets = evaluationSets(data, spec, 0, 2000);
    for (const [mode, reactive] of [['projection', false], ['mean-shift', false], ['mean-shift', true]] as const) {
      const { result: r, corrected } = await correctAndEvaluate(mx, model, cav, sets, mode, reactive);
      expect(r.before.gap).toBeGreaterThan(0.4);
      expect(r.gapRatio).toBeLessThan(0.5);
      expect(r.cleanLossPoints).toBeLessThanOrEqual(2);
      expect(r.after.relevanceShare).toBeLessThan(0.6 * r.before.relevanceShare);
      expect(r.after.flippedToClass).toBeLessThan(0.05);
      expect(r.after.tcav!.score).toBeLessThan(r.before.tcav!.score);
      // The corrected model loads in ONNX Runtime and inspect finds every node supported.
      await createSession(serializeModel(corrected));
      expect(inspectModel(corrected, namedComposite('epsilon-plus-flat')).unsupported).toEqual([]);
    }
  }, 300_000);
});
