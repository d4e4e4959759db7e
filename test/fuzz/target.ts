/**
 * What the fuzz test exercises with each mutated file: the model reader, the compiler's analysis (what `xsys inspect`
 * and an upload run) and compilation with serialisation of the result, for LRP and the gradient. Every failure must
 * be an XsysError; anything else is a foreign exception (a bug).
 */
import { inspectModel } from '../../src/compiler/inspect.js';
import { compileExplainer } from '../../src/compiler/compile.js';
import { XsysError } from '../../src/errors.js';
import { parseModel, serializeModel } from '../../src/onnx/model.js';

export type Outcome = { kind: 'ok' } | { kind: 'xsys'; message: string } | { kind: 'foreign'; message: string; stack: string };

export function runTarget(bytes: Uint8Array): Outcome {
  try {
    const model = parseModel(bytes, 'fuzz.onnx');
    inspectModel(model, 'epsilon-plus-flat', {});
    for (const method of ['lrp', 'gradient'] as const) serializeModel(compileExplainer(model, method === 'lrp' ? { method, composite: 'epsilon-plus-flat' } : { method }).model);
    return { kind: 'ok' };
  } catch (e) {
    if (e instanceof XsysError) return { kind: 'xsys', message: e.message };
    const err = e instanceof Error ? e : new Error(String(e));
    return { kind: 'foreign', message: `${err.name}: ${err.message}`, stack: err.stack ?? '' };
  }
}
